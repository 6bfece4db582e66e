"""Unit 2's widgets driven headlessly, and the pure ``dlcourse.explore.unit2_*`` functions behind them.

The explore functions are checked against ``dlcourse.losses`` and ``dlcourse.metrics`` (which are
themselves checked against torch and scikit-learn), against torch autograd, central differences
and the lecture notes' numbers. A widget test sets ``demo.controls[name].value`` and looks at
``demo.data``.
"""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.unit2


from dlcourse import losses as L  # noqa: E402
from dlcourse import metrics as M  # noqa: E402
from dlcourse.checks import numerical_gradient  # noqa: E402
from dlcourse.activations import softmax  # noqa: E402
from dlcourse.explore import unit2_batched as bt  # noqa: E402
from dlcourse.explore import unit2_imbalance as imb  # noqa: E402
from dlcourse.explore import unit2_label_noise as noise  # noqa: E402
from dlcourse.explore import unit2_loss_explorer as lx  # noqa: E402
from dlcourse.explore import unit2_metric_learning as ml  # noqa: E402
from dlcourse.explore import unit2_outliers as out  # noqa: E402
from dlcourse.explore import unit2_softmax_kl as skl  # noqa: E402
from dlcourse.widgets import unit2 as widgets  # noqa: E402
from dlcourse.widgets.base import Demo  # noqa: E402

PNG = b"\x89PNG"


# -- loss explorer: each one-sample curve is the matching dlcourse loss of a batch of one --------------------------
def _one(fn, *args, **kw):
    return fn(*[np.array([a]) for a in args], **kw)


REFERENCES = {
    # (mode, loss): (value of the loss at x as computed by dlcourse.losses, its derivative in x), params
    ("regression: residual", "MSE"): (lambda x, **k: _one(L.mse, x, 0.0), lambda x, **k: _one(L.mse_grad, x, 0.0)[0]),
    ("regression: residual", "MAE"): (lambda x, **k: _one(L.mae, x, 0.0), lambda x, **k: _one(L.mae_grad, x, 0.0)[0]),
    ("regression: residual", "Huber"): (lambda x, delta: _one(L.huber, x, 0.0, delta=delta),
                                        lambda x, delta: _one(L.huber_grad, x, 0.0, delta=delta)[0]),
    ("classification: margin", "hinge"): (lambda x, margin: _one(L.margin_ranking, x, 0.0, 1.0, margin=margin),
                                          lambda x, margin: _one(L.margin_ranking_grad, x, 0.0, 1.0, margin=margin)[0]),
    ("classification: margin", "logistic (BCE)"): (
        lambda x, **k: _one(L.binary_cross_entropy_with_logits, x, 1.0),
        lambda x, **k: _one(L.binary_cross_entropy_with_logits_grad, x, 1.0)[0]),
    ("classification: probability", "cross-entropy"): (lambda x, **k: _one(L.binary_cross_entropy, x, 1.0),
                                                       lambda x, **k: _one(L.binary_cross_entropy_grad, x, 1.0)[0]),
    ("classification: probability", "label smoothing"): (
        lambda x, smoothing: L.cross_entropy(np.log([[x, 1 - x]]), [0], label_smoothing=smoothing), None),
    ("classification: probability", "MAE on probabilities"): (
        lambda x, **k: float(np.abs(np.array([x, 1 - x]) - [1, 0]).sum()), None),
    ("classification: probability", "squared error"): (
        lambda x, **k: float(((np.array([x, 1 - x]) - [1, 0]) ** 2).sum()), None),
}
POINTS = {"regression: residual": [-2.7, -0.4, 0.3, 1.9], "classification: margin": [-2.1, -0.3, 0.6, 1.7],
          "classification: probability": [0.03, 0.3, 0.62, 0.95]}
PARAMS = {"regression: residual": {"delta": 0.8}, "classification: margin": {"margin": 1.3},
          "classification: probability": {"smoothing": 0.2, "gamma": 2.0}}


@pytest.mark.parametrize("mode, name", sorted(REFERENCES))
def test_pointwise_losses_match_dlcourse_losses(mode, name):
    value, grad = REFERENCES[(mode, name)]
    f = lx.MODES[mode].losses[name]
    params = {k: v for k, v in PARAMS[mode].items() if k in lx.MODES[mode].params}
    mine = {k: v for k, v in params.items() if k != "gamma"}
    for x in POINTS[mode]:
        assert f.value(np.array([x]), **params)[0] == pytest.approx(value(x, **mine), rel=1e-12, abs=1e-14)
        if grad is not None:
            assert f.grad(np.array([x]), **params)[0] == pytest.approx(grad(x, **mine), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("mode", list(lx.MODES))
def test_pointwise_derivatives_match_central_differences(mode):
    spec = lx.MODES[mode]
    params = {k: v for k, v in PARAMS[mode].items() if k in spec.params}
    for name, f in spec.losses.items():
        if name == "zero-one":
            continue
        for x in POINTS[mode]:
            num = numerical_gradient(lambda a: float(f.value(a, **params)[0]), np.array([x]))
            assert f.grad(np.array([x]), **params)[0] == pytest.approx(num[0], rel=1e-5, abs=1e-7), (name, x)


def test_focal_loss_with_gamma_zero_is_cross_entropy_and_smaller_otherwise():
    p = np.linspace(0.01, 0.99, 50)
    focal, ce = lx.PROBABILITY["focal"], lx.PROBABILITY["cross-entropy"]
    np.testing.assert_allclose(focal.value(p, gamma=0.0), ce.value(p), rtol=1e-12)
    np.testing.assert_allclose(focal.grad(p, gamma=0.0), ce.grad(p), rtol=1e-12)
    assert np.all(focal.value(p, gamma=2.0) < ce.value(p))


def test_zero_one_is_below_every_margin_surrogate():
    t = np.linspace(-3, 3, 601)
    zero_one = lx.MARGIN["zero-one"].value(t)
    for name in ("hinge", "squared hinge"):
        assert np.all(lx.MARGIN[name].value(t, margin=1.0) >= zero_one)
    assert np.all(lx.MARGIN["logistic (BCE)"].value(t) / math.log(2) >= zero_one - 1e-12)


def test_compute_loss_curves():
    d = lx.compute_loss_curves()
    assert d.names == lx.MODES[d.mode].default
    assert set(d.values) == set(d.names) and d.values["MSE"].shape == d.x.shape
    assert d.params == {"delta": 1.0}
    d = lx.compute_loss_curves("classification: probability", ["cross-entropy"], at=0.01)
    assert d.at_values["cross-entropy"] == pytest.approx(-math.log(0.01))     # the notes' 4.6
    assert d.params == {"gamma": 2.0, "smoothing": 0.1}
    d = lx.compute_loss_curves("classification: margin", ["hinge"], at=-0.5)
    assert d.at_values["hinge"] == pytest.approx(1.5)                         # the notes' third hinge case
    assert lx.compute_loss_curves(at=99.0).at == 4.0                           # clipped to the grid
    assert lx.compute_loss_curves(losses=()).names == ()
    assert "Pick at least one" in lx.describe_loss_curves(lx.compute_loss_curves(losses=()))
    with pytest.raises(ValueError, match="mode must be one of"):
        lx.compute_loss_curves("nonsense")
    with pytest.raises(ValueError, match="losses of mode"):
        lx.compute_loss_curves("regression: residual", ["hinge"])


# -- the batched networks ------------------------------------------------------------------------------------------
def test_tanh_nets_match_torch_autograd(torch):
    rng = np.random.default_rng(0)
    nets = bt.TanhNets(3, 2, 5, 4, rng=1)
    nets.flat[:] = rng.normal(size=nets.flat.shape)       # models that differ
    X, G = rng.normal(size=(7, 2)), rng.normal(size=(3, 7, 4))
    h, z = nets.forward(X)
    nets.backward(X, h, G)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in nets.params.items()}
    tz = torch.tanh(torch.tensor(X) @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
    np.testing.assert_allclose(tz.detach().numpy(), z, rtol=1e-12)
    (tz * torch.tensor(G)).sum().backward()
    for k, v in tp.items():
        np.testing.assert_allclose(nets.grads[k], v.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


def test_tanh_nets_accept_one_input_per_model():
    rng = np.random.default_rng(1)
    nets = bt.TanhNets(2, 3, 4, 1)
    X = rng.normal(size=(2, 5, 3))
    h, z = nets.forward(X)
    for b in range(2):
        np.testing.assert_allclose(z[b], nets.forward(X[b])[1][b])
    G = rng.normal(size=(2, 5, 1))
    grad = nets.backward(X, h, G).copy()
    np.testing.assert_allclose(nets.grads["W1"][0], X[0].T @ ((G[0] @ nets.params["W2"][0].T) * (1 - h[0] ** 2)))
    assert np.shares_memory(nets.grads["W1"], nets.flat_grad) and grad.shape == nets.flat.shape


def test_every_model_starts_from_the_same_weights():
    nets = bt.TanhNets(4, 2, 3, 2, rng=5)
    for k in ("W1", "W2"):
        assert np.all(nets.params[k] == nets.params[k][0])
    assert not np.any(nets.params["b1"]) and not np.any(nets.params["b2"])


# -- outlier lab ---------------------------------------------------------------------------------------------------
def test_line_fits_are_the_minimisers():
    x, y = out.with_outliers(3, 18.0)
    np.testing.assert_allclose(out.fit_line_mse(x, y), np.polyfit(x, y, 1)[::-1], rtol=1e-10)
    # MAE: no small move of the line lowers the mean absolute error
    b, m = out.fit_line_mae(x, y)
    best = L.mae(b + m * x, y)
    rng = np.random.default_rng(0)
    for db, dm in rng.normal(0, 0.05, (200, 2)):
        assert L.mae(b + db + (m + dm) * x, y) >= best - 1e-12
    # Huber: the gradient with respect to (intercept, slope) vanishes
    for delta in (0.3, 1.0, 4.0):
        b, m = out.fit_line_huber(x, y, delta)
        g = L.huber_grad(b + m * x, y, delta)
        assert abs(g.sum()) < 1e-9 and abs(g @ x) < 1e-9


def test_residual_grads_are_the_dlcourse_gradients():
    rng = np.random.default_rng(3)
    pred, y = rng.normal(size=(3, 9, 1)), rng.normal(size=(9, 1))
    g = out._residual_grads(pred - y, 0.7)
    np.testing.assert_allclose(g[0], L.mse_grad(pred[0], y))
    np.testing.assert_allclose(g[1], L.mae_grad(pred[1], y))
    np.testing.assert_allclose(g[2], L.huber_grad(pred[2], y, 0.7))


@pytest.mark.parametrize("model", ["line", "small net"])
def test_outliers_pull_mse_but_not_mae_or_huber(model):
    clean = out.compute_outlier_fit(0, model=model)
    assert max(clean.error.values()) < 0.5
    d = out.compute_outlier_fit(3, 20.0, delta=1.0, model=model)
    assert len(d.x) == 23 and d.n_outliers == 3 and np.all(d.y[-3:] > 19)
    assert d.error["MSE"] > 4 * d.error["MAE"] and d.error["MSE"] > 4 * d.error["Huber"]
    assert (len(d.lines) == 3) == (model == "line")
    assert "Closest to the true line" in out.describe_outlier_fit(d)


def test_outlier_fit_rejects_bad_settings():
    with pytest.raises(ValueError, match="model must be"):
        out.compute_outlier_fit(model="tree")
    with pytest.raises(ValueError, match="n_outliers must be between 0 and 5"):
        out.compute_outlier_fit(6)


# -- softmax and KL ------------------------------------------------------------------------------------------------
def test_softmax_with_temperature():
    d = skl.compute_softmax()
    np.testing.assert_allclose(np.round(d.probs, 3), [0.002, 0.017, 0.047, 0.934])    # the notes' values
    assert d.entropy == pytest.approx(-np.sum(d.probs * np.log(d.probs)))
    assert skl.compute_softmax(temperature=0.1).probs[3] > 0.999
    assert skl.compute_softmax(temperature=1e6).entropy == pytest.approx(math.log(4), rel=1e-6)
    np.testing.assert_allclose(d.curves.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        skl.compute_softmax(temperature=0.0)


def test_kl_explorer_numbers():
    close = skl.compute_kl()
    assert close.kl_pq == pytest.approx(0.0268, abs=5e-5) and close.kl_qp == pytest.approx(0.0291, abs=5e-5)
    wrong = skl.compute_kl(q1=0.1, q2=0.8, q3=0.1)
    assert wrong.kl_pq == pytest.approx(1.0849, abs=5e-5)
    for d in (close, wrong):
        assert d.cross_entropy == pytest.approx(d.entropy_p + d.kl_pq)
        assert d.cross_entropy == pytest.approx(L.categorical_cross_entropy(d.q[None], d.p[None]))
    same = skl.compute_kl(2, 1, 1, 4, 2, 2)                  # weights are normalised
    np.testing.assert_allclose(same.p, same.q)
    assert same.kl_pq == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(skl.compute_kl(0, 0, 0).p, 1 / 3)          # every slider at 0: uniform
    with pytest.raises(ValueError, match="P must be non-negative weights"):
        skl.compute_kl(-1, 0, 0)
    assert "KL(P‖Q) = 0.0268" in skl.describe_kl(close) and "infinite" not in skl.describe_kl(close)
    assert "KL(P‖Q) is infinite in theory" in skl.describe_kl(skl.compute_kl(q1=0.0))


# -- class imbalance -----------------------------------------------------------------------------------------------
def test_balanced_weights_match_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    _, y = imb.make_split(7)
    np.testing.assert_allclose(imb.balanced_weights(y), compute_class_weight("balanced", classes=np.arange(2), y=y))


@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_fit_minimises_the_weighted_cross_entropy(weighted):
    X, y = imb.make_split(10)
    w = imb.balanced_weights(y) if weighted else None
    theta = imb.fit_logistic(X, y, w, l2=0.0)
    A = np.c_[np.ones(len(X)), X]
    logits = np.c_[np.zeros(len(X)), A @ theta]             # two-class logits [0, θᵀx]
    g = L.cross_entropy_grad(logits, y, weight=w)
    np.testing.assert_allclose(A.T @ g[:, 1], 0.0, atol=1e-10)


def test_imbalance_scores_match_the_metrics_and_weights_raise_recall():
    d = imb.compute_imbalance(20, weighted=False)
    Xt, yt = imb.make_split(20, "test")
    pred = (np.c_[np.ones(len(Xt)), Xt] @ d.theta >= 0).astype(int)
    assert d.confusion.tolist() == M.confusion_matrix(yt, pred).tolist()
    assert d.scores["F1"] == pytest.approx(M.f1(yt, pred))
    w = imb.compute_imbalance(20, weighted=True)
    assert w.scores["recall"] > d.scores["recall"] + 0.3 and w.scores["precision"] < d.scores["precision"]
    np.testing.assert_allclose(w.theta_other, d.theta)
    assert imb.compute_imbalance(1, True).scores == pytest.approx(imb.compute_imbalance(1, False).scores)
    assert imb.compute_imbalance(20, threshold=0.2).scores["recall"] > d.scores["recall"]
    assert "recall" in imb.describe_imbalance(d)
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        imb.make_split(0.5)


# -- label noise ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", noise.LOSS_NAMES)
def test_robust_loss_gradients_are_the_derivatives_in_the_logits(name):
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(5, 3)), np.eye(3)[rng.integers(0, 3, 5)]
    loss = noise.ROBUST_LOSSES[name]
    g = loss.grad(softmax(z), y)
    num = numerical_gradient(lambda a: float(loss.value(softmax(a), y).sum()), z)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_robust_losses_agree_with_dlcourse_cross_entropy():
    rng = np.random.default_rng(5)
    z, t = rng.normal(size=(6, 2)), rng.integers(0, 2, 6)
    p, y = softmax(z), np.eye(2)[t]
    assert noise.ROBUST_LOSSES["cross-entropy"].value(p, y).mean() == pytest.approx(L.cross_entropy(z, t))
    assert noise.ROBUST_LOSSES["label smoothing"].value(p, y).mean() == pytest.approx(
        L.cross_entropy(z, t, label_smoothing=noise.SMOOTHING))
    np.testing.assert_allclose(noise.ROBUST_LOSSES["MAE"].value(p, y), 2 * (1 - p[np.arange(6), t]))


def test_noisy_labels_are_nested_and_counted():
    previous = np.zeros(200, bool)
    for r in noise.NOISE_LEVELS:
        labels, flipped = noise.noisy_labels(r)
        assert flipped.sum() == round(r * 200) and np.all(flipped[previous])
        assert np.all((labels != noise.noisy_data()[1]) == flipped)
        previous = flipped


def test_label_noise_runs():
    runs = noise.train_all()
    assert runs.test_accuracy.shape == (len(noise.NOISE_LEVELS), len(noise.LOSS_NAMES))
    assert runs.grid_prob.shape[2:] == (noise.GRID, noise.GRID)
    assert np.all(runs.test_accuracy[0] > 0.9)                               # clean labels: every loss learns
    ce, mae = noise.LOSS_NAMES.index("cross-entropy"), noise.LOSS_NAMES.index("MAE")
    i = noise.nearest_level(0.3)
    assert runs.test_accuracy[i, mae] > runs.test_accuracy[i, ce] + 0.05     # MAE resists 30 % noise better
    assert runs.memorised[i, ce] > runs.memorised[i, mae]
    assert np.all(runs.memorised[0] == 0)
    d = noise.compute_label_noise(0.31, "MAE")
    assert d.noise == 0.3 and d.flipped.sum() == 60
    assert "memorised" in noise.describe_label_noise(d)
    assert "No label flipped" in noise.describe_label_noise(noise.compute_label_noise(0.0))
    with pytest.raises(ValueError, match="loss must be one of"):
        noise.compute_label_noise(0.1, "hinge")


# -- metric learning -----------------------------------------------------------------------------------------------
def test_pair_and_triplet_sampling():
    y = ml.digit_features()[2]
    rng = np.random.default_rng(0)
    i, j, similar = ml.sample_pairs(y, rng, 500)
    assert np.all((y[i] == y[j]) == (similar == 1)) and similar.sum() == 250
    a, p, n = ml.sample_triplets(y, rng, 500)
    assert np.all(y[a] == y[p]) and np.all(y[a] != y[n])
    assert len(np.unique(y[n])) == ml.CLASSES


def test_contrastive_and_triplet_terms_match_dlcourse_losses():
    rng = np.random.default_rng(6)
    E = rng.normal(size=(2, 12, 2))
    margins = np.array([0.7, 2.0])
    i, j, s = rng.integers(0, 12, 10), rng.integers(0, 12, 10), rng.integers(0, 2, 10).astype(float)
    loss, grad = ml.contrastive_terms(E, i, j, s, margins)
    a, p, n = rng.integers(0, 12, 10), rng.integers(0, 12, 10), rng.integers(0, 12, 10)
    ok = (a != p) & (a != n)
    a, p, n = a[ok], p[ok], n[ok]
    tloss, tgrad = ml.triplet_terms(E, a, p, n, margins)
    for b, m in enumerate(margins):
        d = np.linalg.norm(E[b, i] - E[b, j], axis=1)
        assert loss[b] == pytest.approx(L.contrastive(d, s, margin=m), rel=1e-9)
        assert tloss[b] == pytest.approx(L.triplet_margin(E[b, a], E[b, p], E[b, n], margin=m), abs=1e-5)
    num = numerical_gradient(lambda e: float(ml.contrastive_terms(e, i, j, s, margins)[0].sum()), E)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)
    num = numerical_gradient(lambda e: float(ml.triplet_terms(e, a, p, n, margins)[0].sum()), E)
    np.testing.assert_allclose(tgrad, num, rtol=1e-5, atol=1e-7)


def test_nearest_neighbour_accuracy_by_brute_force():
    rng = np.random.default_rng(7)
    tr, te = rng.normal(size=(2, 15, 2)), rng.normal(size=(2, 6, 2))
    ytr, yte = rng.integers(0, 3, 15), rng.integers(0, 3, 6)
    acc = ml.nearest_neighbour_accuracy(tr, ytr, te, yte)
    for b in range(2):
        nearest = [ytr[np.argmin(np.linalg.norm(tr[b] - t, axis=1))] for t in te[b]]
        assert acc[b] == pytest.approx(np.mean(np.array(nearest) == yte))


def test_embeddings_learn_to_separate_the_digits():
    runs = ml.train_embeddings()
    n_snap = ml.STEPS // ml.SNAPSHOT_EVERY + 1
    assert runs.snapshots.shape[:3] == (n_snap, 2, len(ml.MARGINS))
    assert np.all(runs.accuracy[-1] > 0.9) and np.all(runs.accuracy[-1] > runs.accuracy[0] + 0.3)
    d = ml.compute_metric_learning(1.4, 60)
    assert d.margin == 1.5 and d.step == 50
    final = ml.compute_metric_learning(2.0)
    assert np.all(np.abs(final.embeddings) <= final.limits[:, None, :1])    # the fixed box holds every margin
    assert "nearest-neighbour accuracy" in ml.describe_metric_learning(final)


# -- the widgets ---------------------------------------------------------------------------------------------------
def test_loss_explorer_switches_views_without_redrawing_the_axes():
    demo = widgets.make_loss_explorer()
    assert isinstance(demo, Demo) and demo.png.startswith(PNG)
    assert demo.data.names == ("MSE", "MAE", "Huber")
    assert set(demo.renderer.layers) == set(lx.MODES)        # one cached layer per view, drawn up front
    redraws = demo.renderer.full_redraws
    demo.controls["mode"].value = "classification: margin"
    assert demo.data.mode == "classification: margin"
    assert demo.controls["losses"].options == tuple(lx.MARGIN)
    assert demo.controls["delta"].layout.display == "none" and demo.controls["margin"].layout.display is None
    assert demo.controls["at"].value == 0.5 and demo.controls["at"].min == -3.0
    demo.controls["margin"].value = 2.0
    assert demo.data.at_values["hinge"] == pytest.approx(1.5)
    demo.controls["losses"].value = ("hinge",)
    assert demo.data.names == ("hinge",)
    demo.controls["mode"].value = "regression: residual"
    assert demo.renderer.full_redraws == redraws           # fails if a switch of view redraws the axes
    assert "<table>" in demo.caption.value
    shown = demo.png
    bundle, _ = demo._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
    # keeping the picture drops the layers (another resolution); the explorer draws them again at once
    assert set(demo.renderer.layers) == set(lx.MODES)
    redraws = demo.renderer.full_redraws
    demo.controls["mode"].value = "classification: probability"
    demo.controls["mode"].value = "regression: residual"
    assert demo.renderer.full_redraws == redraws and demo.png == shown


def test_loss_explorer_set_changes_view_and_sliders_with_one_redraw():
    demo = widgets.make_loss_explorer("classification: probability", losses=("focal",))
    assert demo.data.names == ("focal",)
    calls = []
    original = demo.redraw
    demo.redraw = lambda: (calls.append(1), original())
    demo.set(mode="regression: residual", delta=2.0)
    assert len(calls) == 1 and demo.data.mode == "regression: residual" and demo.data.params == {"delta": 2.0}


def test_outlier_lab_updates_live():
    demo = widgets.make_outlier_lab()
    before = demo.data.error["MSE"]
    demo.controls["height"].value = 20.0
    assert demo.data.error["MSE"] > before
    demo.controls["model"].value = "small net"
    assert demo.data.model == "small net" and demo.data.lines == {}
    demo.controls["n_outliers"].value = 0
    assert len(demo.data.x) == 20 and demo.png.startswith(PNG)


def test_softmax_and_kl_widgets():
    sm = widgets.make_softmax_demo()
    sm.controls["temperature"].value = 10.0
    assert sm.data.temperature == 10.0 and sm.data.probs.max() < 0.5
    kl = widgets.make_kl_explorer()
    kl.buttons[1].click()
    assert kl.data.kl_pq == pytest.approx(1.0849, abs=5e-5)
    kl.buttons[0].click()
    assert kl.data.kl_pq == pytest.approx(0.0268, abs=5e-5)
    kl.controls["q1"].value = 0.0
    assert kl.data.q[0] == 0.0 and kl.data.kl_pq > 50        # log 0 clamped at -100: large but finite
    assert np.isfinite(kl.data.kl_pq)


def test_label_noise_imbalance_and_metric_learning_widgets():
    ln = widgets.make_label_noise_lab()
    assert ln.data.noise == 0.2
    ln.controls["loss"].value = "symmetric CE"
    ln.controls["noise"].value = 0.4
    assert (ln.data.loss, ln.data.noise) == ("symmetric CE", 0.4)
    im = widgets.make_imbalance_lab()
    im.set(ratio=50, weighted=True)
    assert im.data.ratio == 50 and im.data.weighted and im.data.confusion.sum() == 5000 + 100
    assert "recall" in im.caption.value
    mlw = widgets.make_metric_learning_demo()
    mlw.controls["step"].value = 0
    assert mlw.data.step == 0
    full = mlw.renderer.full_redraws
    mlw.controls["margin"].value = 3.0
    assert mlw.data.margin == 3.0 and mlw.renderer.full_redraws == full     # no axes to redraw
    for demo in (ln, im, mlw):
        assert demo.png.startswith(PNG) and demo.last_update_ms > 0


def test_benchmark_cases_name_real_controls_and_values():
    assert all(name.startswith("unit2 ") for name in widgets.BENCHMARK_CASES)
    for name, (factory, moves) in widgets.BENCHMARK_CASES.items():
        demo = factory()
        demo.redraw = lambda: None                                # only check that every move is accepted
        for control, value in moves:
            before = demo.data
            demo.controls[control].value = value
            assert demo.controls[control].value == value, (name, control)
            assert demo.data is not before, (name, control)
