"""Unit 1's widgets driven headlessly, and the pure ``dlcourse.explore`` functions behind them.

A widget test sets ``demo.controls[name].value`` (or ``demo.play.value``) and looks at
``demo.data``; the explore tests compare the pure functions with torch autograd,
central differences and the lecture notes' worked example.
"""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.unit1

import ipywidgets as W  # noqa: E402

from dlcourse.checks import numerical_gradient  # noqa: E402
from dlcourse.explore import activation_explorer as act  # noqa: E402
from dlcourse.explore import autoencoder_explorer as aex  # noqa: E402
from dlcourse.explore import backprop_example as bp  # noqa: E402
from dlcourse.explore import graph_explorer as ge  # noqa: E402
from dlcourse.explore import playground as pg  # noqa: E402
from dlcourse.explore import saliency as sal  # noqa: E402
from dlcourse.graph import topological_order  # noqa: E402
from dlcourse.widgets import unit1 as widgets  # noqa: E402
from dlcourse.widgets.base import Demo  # noqa: E402

PNG = b"\x89PNG"
PRESETS = list(ge.PRESETS)


def count_redraws(demo):
    """Wrap ``demo.redraw`` so that each call is recorded; returns the list of calls."""
    calls, original = [], demo.redraw

    def counting():
        calls.append(demo.values())
        original()

    demo.redraw = counting
    return calls


def data_only(demo):
    """Skip the PNG rendering of later updates (each costs ~0.3 s); ``demo.data`` still updates.

    Every demo renders once on construction, which checks its ``plot``.
    """
    demo.redraw = lambda: None
    return demo


def leaf_grads(root):
    """Gradients of the named leaves (constants such as the -1 of a subtraction have no label)."""
    return {n.label: n.grad for n in topological_order(root) if not n._prev and n.label}


# -- the base class ---------------------------------------------------------------------------------
class TestDemo:
    @pytest.fixture
    def demo(self):
        log = {"compute": 0, "plot": 0}

        def compute(a, b):
            log["compute"] += 1
            return {"sum": a + b}

        def plot(fig, data):
            log["plot"] += 1
            fig.add_subplot().bar([0], [data["sum"]])

        controls = {"a": W.IntSlider(value=1, min=0, max=10), "b": W.IntSlider(value=2, min=0, max=10)}
        d = Demo(controls, compute, plot, figsize=(2, 2), title="t", hint="h",
                 text=lambda data: f"sum is {data['sum']}")
        d.log = log
        return d

    def test_construction_computes_and_draws_once(self, demo):
        assert demo.log == {"compute": 1, "plot": 1}
        assert demo.data == {"sum": 3}
        assert demo.png.startswith(PNG)
        assert demo.image.value == demo.png
        assert demo.caption.value == "sum is 3"
        assert demo.last_update_ms > 0

    def test_a_control_change_recomputes_once(self, demo):
        before = demo.png
        demo.controls["a"].value = 7
        assert demo.data == {"sum": 9}
        assert demo.log == {"compute": 2, "plot": 2}
        assert demo.caption.value == "sum is 9"
        assert demo.png.startswith(PNG) and demo.png != before

    def test_set_changes_several_controls_with_one_redraw(self, demo):
        demo.set(a=4, b=5)
        assert demo.data == {"sum": 9}
        assert demo.values() == {"a": 4, "b": 5}
        assert demo.log == {"compute": 2, "plot": 2}
        # controls react again afterwards
        demo.controls["b"].value = 0
        assert demo.data == {"sum": 4} and demo.log["compute"] == 3

    def test_set_releases_the_hold_when_a_value_is_rejected(self, demo):
        with pytest.raises(KeyError):
            demo.set(a=3, nope=1)
        assert demo._hold is False
        demo.controls["a"].value = 0
        assert demo.data == {"sum": 2}

    def test_mimebundle_has_the_widget_and_a_static_png(self, demo):
        bundle, metadata = demo._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert "image/png" in bundle
        import base64
        import io

        from PIL import Image

        # the static picture is the live one at twice the resolution (HiDPI), shown at the live one's size
        static = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))).size
        live = Image.open(io.BytesIO(demo.png)).size
        assert static == (2 * live[0], 2 * live[1])
        assert metadata["image/png"] == {"width": live[0], "height": live[1]}
        assert "interactive figure" in bundle["text/plain"]


# -- the graph explorer -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph_demo():
    return widgets.make_graph_explorer()


class TestGraphExplorer:
    @pytest.fixture
    def demo(self, graph_demo):
        return graph_demo

    def test_starts_forward_only(self, demo):
        assert demo.data.step == 0
        assert demo.data.current is None
        assert demo.data.n_steps == 2
        assert demo.controls["step"].max == demo.play.max == 2
        assert demo.data.root.data == pytest.approx((2.0 + 3.0) * -4.0)
        assert all(n.grad == 0.0 for n in topological_order(demo.data.root))
        assert "Forward pass done" in demo.caption.value
        assert demo.png.startswith(PNG)
        bundle, _ = demo._repr_mimebundle_()
        assert {"application/vnd.jupyter.widget-view+json", "image/png"} <= set(bundle)

    def test_last_step_gives_the_grads_of_backward(self, demo):
        demo.controls["v0"].value = 1.5
        demo.controls["step"].value = demo.data.n_steps
        state = demo.data
        assert state.step == state.n_steps and state.current is not None
        reference = ge.build_preset(PRESETS[0], {"x": 1.5, "y": 3.0, "z": -4.0})
        reference.backward()
        assert leaf_grads(state.root) == pytest.approx(leaf_grads(reference))
        assert "local gradient" in demo.caption.value

    def test_step_one_visits_the_root_only(self, demo):
        demo.controls["step"].value = 1
        s = demo.data
        assert s.current.node is s.root and s.current.upstream == 1.0
        assert s.root.label == "f"
        assert {c.label for c in s.current.children} == {"q", "z"}
        demo.controls["step"].value = 0
        assert demo.data.current is None

    def test_preset_change_reconfigures_sliders_and_redraws_once(self, demo):
        calls = count_redraws(demo)
        try:
            for preset in PRESETS[1:] + PRESETS[:1]:
                calls.clear()
                demo.controls["preset"].value = preset
                assert len(calls) == 1, preset
                specs = ge.PRESETS[preset][1]
                for i in range(widgets.MAX_INPUTS):
                    s = demo.controls[f"v{i}"]
                    if i < len(specs):
                        name, default, low, high = specs[i]
                        assert (s.description, s.value, s.min, s.max) == (name, default, low, high)
                        assert s.layout.display is None
                    else:
                        assert s.layout.display == "none"
                assert demo.controls["step"].value == 0
                assert demo.controls["step"].max == demo.play.max == demo.data.n_steps
                fresh = ge.build_preset(preset, {})
                assert demo.data.root.data == pytest.approx(fresh.data)
        finally:
            del demo.redraw

    def test_set_with_a_preset_redraws_once_and_keeps_the_given_inputs(self, demo):
        calls = count_redraws(demo)
        try:
            demo.set(preset=PRESETS[2], v0=1.0)
            assert len(calls) == 1
            assert demo.controls["v0"].description == "w"
            assert demo.data.root.data == pytest.approx((1.0 * 5.0 + 90.0 - 100.0) ** 2)
            assert demo.data.step == 0 and demo.controls["step"].max == demo.data.n_steps == 5
            demo.set(step=5, v1=2.0)
            assert len(calls) == 2
            assert demo.data.step == 5
            assert leaf_grads(demo.data.root)["w"] == pytest.approx(2 * (1.0 * 2.0 + 90.0 - 100.0) * 2.0)
        finally:
            del demo.redraw
            demo.controls["preset"].value = PRESETS[0]


# -- graph_explorer's pure functions vs torch --------------------------------------------------------
def _torch_preset(torch, preset, v):
    t = {k: torch.tensor(float(val), requires_grad=True) for k, val in v.items()}
    if preset == PRESETS[0]:
        out = (t["x"] + t["y"]) * t["z"]
    elif preset == PRESETS[1]:
        out = torch.sigmoid(t["w1"] * t["x1"] + t["w2"] * t["x2"] + t["b"])
    elif preset == PRESETS[2]:
        out = (t["w"] * t["x"] + t["b"] - t["y"]) ** 2
    else:
        h = t["w"] * t["x"]
        out = h * h + torch.tanh(h)
    out.backward()
    return out.item(), {k: x.grad.item() for k, x in t.items()}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_compute_graph_state_matches_torch(torch, preset, seed):
    rng = np.random.default_rng(seed)
    specs = ge.PRESETS[preset][1]
    values = {name: float(rng.uniform(low, high)) for name, _, low, high in specs}
    forward = ge.compute_graph_state(preset, values, 0)
    assert forward.current is None and forward.known == frozenset()
    state = ge.compute_graph_state(preset, values, 10 ** 6)  # clamped to the last step
    assert state.step == state.n_steps == sum(1 for n in topological_order(state.root) if n._prev)
    out, grads = _torch_preset(torch, preset, values)
    assert state.root.data == pytest.approx(out, rel=1e-12)
    assert leaf_grads(state.root) == pytest.approx(grads, rel=1e-10, abs=1e-12)
    assert len(state.known) == len(topological_order(state.root))


def test_compute_graph_state_steps_one_node_at_a_time():
    preset = PRESETS[3]  # fan-out: h feeds both h*h and tanh(h)
    n = ge.compute_graph_state(preset, {}, 0).n_steps
    seen = []
    for step in range(1, n + 1):
        s = ge.compute_graph_state(preset, {}, step)
        assert s.step == step
        seen.append(s.current.node.label or s.current.node._op)
        assert id(s.root) in s.known
        assert all(id(c) in s.known for c in s.current.children)
    assert seen[0] == "out" and len(set(seen)) == n
    assert ge.compute_graph_state(preset, {}, -3).step == 0


def test_explain_step_mentions_local_gradients_and_upstream():
    state = ge.compute_graph_state(PRESETS[0], {}, 0)
    assert "Forward pass done" in ge.explain_step(state) and "-20" in ge.explain_step(state)
    for step in (1, 2):
        state = ge.compute_graph_state(PRESETS[0], {}, step)
        text = ge.explain_step(state)
        s = state.current
        assert f"Step {step} of 2" in text
        assert f"upstream gradient {s.upstream:.4g}" in text
        for local, contrib in zip(s.local_grads, s.contributions):
            assert f"local gradient {local:.4g} × upstream {s.upstream:.4g} = {contrib:.4g}" in text
    # step 1 at the notes' numbers: f = q·z with q = 5, z = -4
    text = ge.explain_step(ge.compute_graph_state(PRESETS[0], {}, 1))
    assert "local gradient -4 × upstream 1 = -4" in text
    assert "local gradient 5 × upstream 1 = 5" in text


def test_build_preset_rejects_an_unknown_preset():
    with pytest.raises(ValueError, match="preset must be one of"):
        ge.build_preset("nope", {})


# -- the activation explorer ------------------------------------------------------------------------
def test_activation_explorer_widget():
    demo = widgets.make_activation_explorer()
    assert demo.data.name == "sigmoid"
    assert list(demo.data.depths) == list(range(1, 11))
    assert demo.png.startswith(PNG)
    data_only(demo)
    demo.controls["n_layers"].value = 20
    assert list(demo.data.depths) == list(range(1, 21))
    assert all(len(g) == 20 for g in demo.data.median_grad.values())
    assert "vanishes" in act.describe_activation(demo.data)
    demo.controls["name"].value = "relu"
    assert demo.data.name == "relu"
    np.testing.assert_allclose(demo.data.df, (demo.data.x > 0).astype(float))
    demo.controls["spread"].value = 3.0
    assert demo.data.spread == 3.0


@pytest.mark.parametrize("spread", [0.5, 1.0])
def test_sigmoid_gradients_vanish_by_at_least_a_quarter_per_layer_at_moderate_weights(spread):
    g = act.gradient_through_layers("sigmoid", 12, spread)
    assert g.shape == (12,)
    # each layer multiplies by sigma' <= 1/4 and by a weight matrix of scale `spread`
    assert np.all(g <= (0.25 * spread * 1.6) ** np.arange(1, 13))
    assert np.all(np.diff(g) < 0)


def test_gradient_through_layers_matches_a_hand_written_backward_pass():
    rng = np.random.default_rng(0)
    width, batch, n = 64, 32, 3
    h = rng.normal(0.0, 1.0, (batch, width))
    Ws, zs = [], []
    for _ in range(n):
        W = rng.normal(0.0, 1.3 / np.sqrt(width), (width, width))
        z = h @ W.T
        Ws.append(W)
        zs.append(z)
        h = np.tanh(z)
    g = rng.normal(0.0, 1.0, (batch, width))
    top, expected = np.linalg.norm(g), []
    for W, z in zip(reversed(Ws), reversed(zs)):
        g = (g * (1 - np.tanh(z) ** 2)) @ W
        expected.append(np.linalg.norm(g) / top)
    np.testing.assert_allclose(act.gradient_through_layers("tanh", n, 1.3), expected, rtol=1e-12)


def test_gradient_through_layers_other_activations():
    linear = act.gradient_through_layers("linear", 5, 1.0)
    assert np.all((linear > 0.5) & (linear < 2.0))  # norm-preserving on average at scale 1
    assert act.gradient_through_layers("linear", 20, 1.5)[-1] > 100  # explodes above scale 1
    relu_lecun = act.gradient_through_layers("relu", 20, 1.0)[-1]
    relu_he = act.gradient_through_layers("relu", 20, np.sqrt(2))[-1]
    assert relu_lecun < 1e-2 < 0.2 < relu_he < 5  # He's scale keeps ReLU's gradient alive
    np.testing.assert_array_equal(act.gradient_through_layers("tanh", 3, 1.0, rng=3),
                                  act.gradient_through_layers("tanh", 3, 1.0, rng=3))


def test_compute_activation_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        act.compute_activation("swish")


# -- the playground ---------------------------------------------------------------------------------
def test_playground_widget_trains_per_frame_and_resets():
    demo = widgets.make_playground(dataset="xor", hidden=8, depth=1, lr=0.5, steps_per_frame=10, warm_steps=0)
    assert demo.data.steps == 0 and len(demo.data.losses) == 0
    png0 = demo.png
    demo.play.value += 1  # one frame: trains and redraws
    assert len(demo.data.losses) == 10 and demo.data.steps == 10
    assert demo.png != png0
    data_only(demo)  # the remaining frames: training only, no PNG rendering
    for frame in range(2, 21):
        demo.play.value += 1
        assert len(demo.data.losses) == 10 * frame
    losses = demo.data.losses
    assert losses[-1] < 0.5 * losses[0]
    assert losses[-10:].mean() < losses[:10].mean()
    assert demo.data.accuracy > 0.9
    demo.controls["dataset"].value = "moons"  # a new data set: a fresh network
    assert len(demo.data.losses) == 0 and demo.playground.settings["dataset"] == "moons"
    demo.play.value += 1
    assert len(demo.data.losses) == 10
    demo.controls["hidden"].value = 4
    assert len(demo.data.losses) == 0
    assert demo.playground.model[0].weight.shape == (4, 2)
    demo.play.value += 1
    demo.reset_button.click()
    assert len(demo.data.losses) == 0


def test_playground_class():
    p = pg.Playground("circles", hidden=6, depth=2, activation="tanh", lr=0.5, rng=1)
    s = p.snapshot()
    assert s.X.shape == (200, 2) and s.y.shape == (200,)
    assert np.abs(s.X).max() == pytest.approx(1.5)
    assert s.xx.shape == s.yy.shape == s.prob.shape == (pg.GRID, pg.GRID)
    assert np.all((s.prob >= 0) & (s.prob <= 1))
    assert s.steps == 0 and s.losses.shape == (0,)
    first = p.train(1)
    last = p.train(299)
    s = p.snapshot()
    assert s.steps == 300 and len(s.losses) == 300
    assert last == s.losses[-1] < first == s.losses[0]
    # the network is the settings' shape
    assert [type(m).__name__ for m in p.model] == ["Linear", "Activation", "Linear", "Activation", "Linear"]
    with pytest.raises(ValueError, match="name must be one of"):
        pg.Playground("nope")
    with pytest.raises(ValueError, match="lr"):
        pg.Playground(lr=0.0)
    with pytest.raises(ValueError, match="steps"):
        p.train(0)


# -- the backprop stepper and the notes' worked example ---------------------------------------------
def test_backprop_stepper_widget():
    demo = widgets.make_backprop_stepper()
    assert demo.data.index == 0 and len(demo.data.errors) == 1 and demo.data.show == "forward"
    data_only(demo)
    for k in (1, 5):
        demo.controls["step"].value = k
        assert demo.data.index == k
        assert len(demo.data.errors) == k + 1
    assert np.all(np.diff(np.abs(demo.data.errors)) < 0)  # the error shrinks step by step
    for show in ("backward", "update", "forward"):
        demo.controls["show"].value = show
        assert demo.data.show == show and demo.data.index == 5
    del demo.redraw  # render again: the same step shown another way is another picture
    before = demo.png
    demo.controls["show"].value = "update"
    assert demo.png.startswith(PNG) and demo.png != before
    demo.controls["lr"].value = 2.0
    assert demo.data.step.updates["w13"] == pytest.approx(2.0 * demo.data.step.delta5 * demo.data.step.y3)


def test_backprop_step_first_step_matches_the_notes():
    s = bp.backprop_step(bp.NOTES_WEIGHTS)
    assert s.a1 == pytest.approx(0.21) and s.a2 == pytest.approx(0.315)
    assert s.y3 == pytest.approx(0.5523, abs=5e-5)
    assert s.y4 == pytest.approx(0.5781, abs=5e-5)
    assert s.y5 == pytest.approx(0.6651, abs=5e-5)
    assert s.delta4 == pytest.approx(-0.00807, abs=5e-6)
    assert s.error == pytest.approx(0.5 - s.y5)
    assert s.weights == bp.NOTES_WEIGHTS and s.weights is not bp.NOTES_WEIGHTS
    assert bp.NOTES_WEIGHTS["w13"] == 0.3  # not modified


@pytest.mark.parametrize("lr", [1.0, 0.3])
def test_backprop_step_is_minus_lr_times_the_torch_gradient(torch, lr):
    weights = dict(bp.NOTES_WEIGHTS)
    for _ in range(3):  # the first three training steps
        s = bp.backprop_step(weights, lr=lr)
        w = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
        x1, x2 = bp.NOTES_INPUT
        y3 = torch.sigmoid(w["w11"] * x1 + w["w21"] * x2)
        y4 = torch.sigmoid(w["w12"] * x1 + w["w22"] * x2)
        y5 = torch.sigmoid(w["w13"] * y3 + w["w23"] * y4)
        E = 0.5 * (bp.NOTES_TARGET - y5) ** 2
        E.backward()
        assert s.y5 == pytest.approx(y5.item(), rel=1e-12)
        for k in weights:
            assert s.updates[k] == pytest.approx(-lr * float(w[k].grad), rel=1e-10, abs=1e-15)
            assert s.new_weights[k] == pytest.approx(weights[k] + s.updates[k])
        weights = s.new_weights


def test_compute_stepper_replays_the_training_steps():
    d = bp.compute_stepper(step=3, lr=1.0, show="update")
    w = dict(bp.NOTES_WEIGHTS)
    errors = []
    for _ in range(4):
        s = bp.backprop_step(w)
        errors.append(s.error)
        w = s.new_weights
    np.testing.assert_allclose(d.errors, errors)
    assert d.step.weights == pytest.approx(s.weights)
    assert d.index == 3 and d.show == "update"


# -- saliency ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_model():
    return sal.trained_digits_mlp()


def test_saliency_widget(digits_model):
    model, Xte, yte, accuracy = digits_model
    assert accuracy > 0.9
    demo = widgets.make_saliency_demo()
    d0 = data_only(demo).data
    assert d0.image.shape == d0.saliency.shape == (8, 8)
    assert d0.output == int(np.argmax(d0.probs))  # -1 selects the predicted class
    assert d0.probs.sum() == pytest.approx(1.0)
    demo.controls["index"].value = 7
    assert not np.array_equal(demo.data.image, d0.image)
    np.testing.assert_array_equal(demo.data.image, Xte[7].reshape(8, 8))
    assert demo.data.label == yte[7]
    other = (demo.data.output + 1) % 10
    before = demo.data.saliency
    demo.controls["output"].value = other
    assert demo.data.output == other
    assert not np.allclose(demo.data.saliency, before)
    np.testing.assert_allclose(demo.data.saliency.ravel(), sal.saliency(model, Xte[7], other))


def test_saliency_matches_torch_on_the_trained_mlp(torch, digits_model):
    model, Xte, _, _ = digits_model
    lin1, relu, lin2 = model.layers
    assert relu.name == "relu"
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        for tl, ours in ((net[0], lin1), (net[2], lin2)):
            tl.weight.copy_(torch.tensor(ours.weight))
            tl.bias.copy_(torch.tensor(ours.bias))
    for i, m in [(0, 3), (5, 0), (11, 9)]:
        x = torch.tensor(Xte[i], requires_grad=True)
        net(x[None, :])[0, m].backward()
        np.testing.assert_allclose(sal.saliency(model, Xte[i], m), x.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert all(np.all(g == 0) for g in model.gradients())  # parameter grads are reset


def test_saliency_matches_central_differences():
    from dlcourse.mlp import make_mlp

    model = make_mlp(5, [4], 3, activation="tanh", rng=2)
    x = np.random.default_rng(0).normal(size=5)
    for m in range(3):
        num = numerical_gradient(lambda z: model.forward(z[None, :])[0, m], x)
        np.testing.assert_allclose(sal.saliency(model, x, m), num, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="output must be a class index"):
        sal.saliency(model, x, 3)


# -- autoencoders -----------------------------------------------------------------------------------
def test_linear_ae_widget():
    demo = widgets.make_linear_ae_demo()
    d = demo.data
    assert d.epoch == 150 and len(d.angles) == 150
    assert d.angles[-1] < 1.0
    assert d.code_ae.shape == d.code_pca.shape == (len(d.labels), 2)
    assert demo.png.startswith(PNG)
    data_only(demo).controls["epoch"].value = 10
    assert demo.data.epoch == 10
    assert demo.data.angles[9] > demo.data.angles[-1]


def test_embedding_widget():
    demo = widgets.make_embedding_demo()
    d0 = data_only(demo).data
    assert d0.code.shape == (len(d0.labels), 2) and d0.index == 0
    assert d0.original.shape == d0.reconstruction.shape == (8, 8)
    demo.controls["index"].value = 12
    d = demo.data
    assert d.index == 12
    _, Xte, _, _ = aex.digits_split()
    np.testing.assert_array_equal(d.original.ravel(), Xte[12])
    assert not np.array_equal(d.reconstruction, d0.reconstruction)
    np.testing.assert_array_equal(d.code, d0.code)


def test_outlier_widget_threshold():
    demo = widgets.make_outlier_demo()
    d = demo.data
    assert d.threshold == pytest.approx(0.3)
    assert d.errors.shape == d.is_outlier.shape == d.flagged.shape
    assert int(d.is_outlier.sum()) == 30
    assert d.top_images.shape == (4, 8, 8)
    assert demo.png.startswith(PNG)
    data_only(demo)
    flagged, recall = [int(d.flagged.sum())], [d.recall]
    for t in (0.1, 0.03, 0.01):
        demo.controls["threshold"].value = t
        assert demo.data.threshold == pytest.approx(t)
        flagged.append(int(demo.data.flagged.sum()))
        recall.append(demo.data.recall)
    assert flagged == sorted(flagged) and flagged[-1] > flagged[0]
    assert recall == sorted(recall)


def test_compute_outliers_is_monotone_in_the_threshold():
    thresholds = np.logspace(0, -2, 25)  # decreasing
    runs = [aex.compute_outliers(t) for t in thresholds]
    n_flagged = [int(r.flagged.sum()) for r in runs]
    recalls = [r.recall for r in runs]
    assert n_flagged == sorted(n_flagged) and recalls == sorted(recalls)
    assert recalls[-1] == 1.0
    for r in runs:
        np.testing.assert_array_equal(r.flagged, r.errors > r.threshold)
        tp = int(np.sum(r.flagged & (r.is_outlier == 1)))
        assert r.precision == pytest.approx(tp / max(1, r.flagged.sum()))


def test_principal_angles_on_known_subspaces():
    from dlcourse.autoencoders import principal_angles

    e = np.eye(5)
    A = e[:, :2]
    for theta in (0.0, 10.0, 45.0, 90.0):
        t = math.radians(theta)
        B = np.c_[e[:, 0], math.cos(t) * e[:, 1] + math.sin(t) * e[:, 2]]
        np.testing.assert_allclose(np.sort(principal_angles(A, B)), [0.0, theta], atol=1e-6)
    # the angles depend on the spaces, not on the bases
    mix = np.array([[2.0, 1.0], [-1.0, 3.0]])
    np.testing.assert_allclose(principal_angles(A @ mix, A), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(principal_angles(A, e[:, 2:4]), [90.0, 90.0], atol=1e-6)
    with pytest.raises(ValueError, match="A must be 2-D"):
        principal_angles(np.ones(3), A)


def test_linear_autoencoder_finds_pca_plane_on_the_digits():
    from dlcourse.autoencoders import pca, principal_angles, train_linear_autoencoder

    Xtr = aex.digits_split()[0]
    run = train_linear_autoencoder(Xtr, k=2, epochs=150, lr=0.5)
    assert run.encoder.shape == (2, 64) and run.decoder.shape == (64, 2)
    assert run.losses.shape == run.angles.shape == (150,)
    assert run.angles[-1] < 1.0 < run.angles[0]
    assert run.losses[-1] < run.losses[0]
    pcs, _ = pca(Xtr, 2)
    assert principal_angles(run.decoder, pcs.T).max() == pytest.approx(run.angles[-1])
