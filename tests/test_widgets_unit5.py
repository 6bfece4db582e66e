"""Unit 5's widgets driven headlessly, and the pure ``dlcourse.explore.unit5_*`` functions behind them.

Widget tests set ``demo.controls[name].value`` and look at ``demo.data``. Models that take seconds to train are
replaced by quick versions (a few steps) in the session cache, so the widgets' code paths run fast; the claims
about fully trained models are checked by the notebooks (nbval) and by the few ``slow`` tests at the end.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

import ipywidgets as W  # noqa: E402

from dlcourse.explore import session  # noqa: E402
from dlcourse.explore import unit5_adding as add  # noqa: E402
from dlcourse.explore import unit5_architectures as arch  # noqa: E402
from dlcourse.explore import unit5_cnn as cnn  # noqa: E402
from dlcourse.explore import session  # noqa: E402
from dlcourse.explore import unit5_common as common  # noqa: E402
from dlcourse.explore import unit5_conv as conv  # noqa: E402
from dlcourse.explore import unit5_forecast as fc  # noqa: E402
from dlcourse.explore import unit5_rnn as ur  # noqa: E402
from dlcourse.explore import unit5_text as txt  # noqa: E402
from dlcourse.explore.unit5_cached import ADDING_CURVES, ADDING_STEPS  # noqa: E402
from dlcourse.sequences import ADDING_BASELINE_MSE, make_adding_problem  # noqa: E402
from dlcourse.widgets import unit5 as widgets  # noqa: E402

PNG = b"\x89PNG"


@pytest.fixture(scope="module", autouse=True)
def quick_models():
    """Small, quickly trained stand-ins for the models the notebooks train in full."""
    session.forget()
    session.once("torch cnn", lambda: cnn.train_torch_cnn(epochs=2, progress=False))
    session.once(("adding", "LSTM", 50), lambda: add.train_adding("LSTM", 50, steps=20, progress=False))
    for series in fc.SERIES:
        lstm, head, _ = fc.train_forecast_lstm(series, steps=3, progress=False)
        session.once(("forecasters", series), lambda: {"ESN": fc.trained_esn(series),
                                                      "LSTM": fc.LSTMForecaster(lstm, head)})

    def sampler():
        modules, losses = txt.train_char_model(steps=5, progress=False)
        s = txt.CharSampler(modules, txt.text_corpus()[1])
        s.losses = losses
        return s

    session.once("char sampler", sampler)
    session.once("sentiment rnn", lambda: txt.train_sentiment_rnn(epochs=2, progress=False))
    yield
    session.forget()


def changed(demo, name, value):
    before = demo.data
    demo.controls[name].value = value
    assert demo.data is not before
    assert demo.png.startswith(PNG) and demo.image.value == demo.png
    return demo.data


# -- convolution explorer ----------------------------------------------------------------------------
def test_convolve2d_matches_scipy():
    from scipy.signal import correlate2d

    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(9, 11)), rng.normal(size=(3, 3))
    for stride in (1, 2, 3):
        for padding in (0, 1, 2):
            want = correlate2d(np.pad(image, padding), kernel, mode="valid")[::stride, ::stride]
            np.testing.assert_allclose(conv.convolve2d(image, kernel, stride, padding), want, atol=1e-12)


def test_compute_convolution_window_and_formula():
    d = conv.compute_convolution(3, conv.KERNELS["sharpen"], stride=2, padding=1, step=10)
    assert d.image.shape == (16, 16) and d.padded.shape == (18, 18) and d.output.shape == (8, 8)
    assert d.position == (1, 2) and d.n_steps == 64
    assert d.value == pytest.approx(d.output[1, 2]) == pytest.approx(np.sum(d.kernel * d.window))
    np.testing.assert_array_equal(d.window, d.padded[2:5, 4:7])
    assert d.formula == "⌊(16 + 2·1 − 3)/2⌋ + 1 = 8"
    assert conv.compute_convolution(step=10**6).step == 255            # clipped to the last pixel
    assert "output[" in conv.describe_convolution(d)
    with pytest.raises(ValueError, match="kernel must be 3×3"):
        conv.compute_convolution(kernel=np.ones((2, 2)))
    assert all(k.shape == (3, 3) for k in conv.KERNELS.values())
    assert conv.KERNELS["blur (box)"].sum() == pytest.approx(1.0)


def test_conv_explorer_presets_cells_and_step_range():
    demo = widgets.make_conv_explorer()
    np.testing.assert_array_equal(demo.data.kernel, conv.KERNELS["Sobel x (vertical edges)"])
    calls = []
    original = demo.redraw
    demo.redraw = lambda: (calls.append(1), original())
    demo.controls["preset"].value = "sharpen"                             # fills the nine cells, redraws once
    assert len(calls) == 1
    np.testing.assert_array_equal(demo.kernel(), conv.KERNELS["sharpen"])
    np.testing.assert_array_equal(demo.data.kernel, conv.KERNELS["sharpen"])
    d = changed(demo, "k11", 9.0)                                         # an edit makes the kernel custom
    assert demo.controls["preset"].value == widgets.CUSTOM and d.kernel[1, 1] == 9.0
    demo.controls["step"].value = 200
    d = changed(demo, "stride", 3)                                        # 16 → 6: the slider shrinks
    assert d.output.shape == (6, 6) and demo.controls["step"].max == 35 == demo.play.max
    assert d.step == demo.controls["step"].value <= 35
    d = changed(demo, "padding", 0)
    assert d.output.shape == (5, 5) and d.padding == 0


def test_conv_explorer_range_changes_in_reconfigure_with_one_redraw():
    """A stride that shrinks the output clamps the window position in ``reconfigure``: one redraw, and a
    ``compute`` that leaves the controls alone (a compute that set the slider's max, as it once did, fails
    the last assertion; a clamp outside ``holding`` fails the redraw count)."""
    demo = widgets.make_conv_explorer(step=200)
    calls = []
    original = demo.redraw
    demo.redraw = lambda: (calls.append(1), original())
    demo.controls["stride"].value = 3
    assert len(calls) == 1 and demo.controls["step"].max == demo.play.max == 35 == demo.data.step
    demo.compute(**{**demo.values(), "stride": 1})                         # compute is pure
    assert demo.controls["step"].max == demo.play.max == 35


def test_receptive_field_layer_range_follows_the_network():
    """``reconfigure_on=("network",)``: the layer slider spans the chosen network's layers, the last layer is
    clamped, and the demo redraws once (a layer range set in ``compute``, or outside ``holding``, fails)."""
    demo = widgets.make_receptive_field_demo("VGG-16, blocks 1-3", layer=9)
    assert demo.controls["layer"].max == 9 and demo.data is not None
    calls = []
    original = demo.redraw
    demo.redraw = lambda: (calls.append(1), original())
    demo.controls["network"].value = "5.2 digits CNN"
    assert len(calls) == 1 and demo.controls["layer"].max == 3 and demo.controls["layer"].value == 3
    demo.compute("VGG-16, blocks 1-3", 9, 0)                               # compute is pure
    assert demo.controls["layer"].max == 3
    demo.set(network="VGG-16, blocks 1-3", layer=8)
    assert demo.controls["layer"].max == 9 and demo.controls["layer"].value == 8 and len(calls) == 2


# -- feature maps --------------------------------------------------------------------------------------
def test_numpy_cnn_matches_torch_cnn(torch):
    _ = torch.manual_seed(0)
    tnet = cnn.torch_cnn()
    net = cnn.numpy_cnn()
    net.load_torch(tnet)
    x = cnn.digit_images()[1][:5]
    np.testing.assert_allclose(net(x), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
    assert [a.shape for a in cnn.layer_outputs(net, x)][:6] == [(5, 32, 8, 8)] * 2 + [(5, 32, 4, 4)] + \
        [(5, 64, 4, 4)] * 2 + [(5, 64, 2, 2)]


def test_feature_maps_and_their_widget():
    d = cnn.compute_feature_maps(2, "conv2", first=16)
    assert d.maps.shape == (16, 4, 4) and d.filters.shape == (16, 3, 3) and d.shape == (64, 4, 4)
    assert list(d.channels) == list(range(16, 32)) and d.probs.sum() == pytest.approx(1.0)
    assert np.all(d.maps >= 0)                                            # after the ReLU
    assert list(cnn.compute_feature_maps(0, "pool1", first=48).channels) == list(range(16, 32))  # 32 maps wrap
    with pytest.raises(ValueError, match="layer must be one of"):
        cnn.compute_feature_maps(0, "fc1")
    demo = widgets.make_feature_map_demo()
    assert demo.data.maps.shape == (16, 8, 8)
    assert changed(demo, "layer", "pool2").maps.shape == (16, 2, 2)
    assert changed(demo, "index", 7).image.shape == (8, 8)
    assert list(changed(demo, "first", 48).channels) == list(range(48, 64))


# -- architectures -------------------------------------------------------------------------------------
PUBLISHED = {"LeNet-5": 61_706, "AlexNet": 60_965_224, "VGG-16": 138_357_544, "GoogLeNet": 6_998_552,
             "ResNet-18": 11_689_512, "ResNet-152": 60_192_808}


@pytest.mark.parametrize("name", list(arch.TORCH_MODELS))
def test_torch_models_have_the_published_sizes(name):
    build, shape = arch.TORCH_MODELS[name]
    model = build()
    assert arch.count_parameters(model) == PUBLISHED[name]
    depth = {"LeNet-5": 5, "AlexNet": 8, "VGG-16": 16, "GoogLeNet": 22, "ResNet-18": 18, "ResNet-152": 152}
    assert arch.weight_depth(model) == depth[name]
    if name in arch.SPECS:                      # the formulas agree with the torch models
        rows = arch.layer_table(name)
        assert sum(r.params for r in rows) == PUBLISHED[name]
        assert sum(r.macs for r in rows) == arch.count_macs(model, shape)


def test_multiply_adds_of_known_networks():
    assert arch.count_macs(arch.vgg16(), (3, 224, 224)) == pytest.approx(15.47e9, rel=1e-3)
    assert arch.count_macs(arch.resnet18(), (3, 224, 224)) == pytest.approx(1.814e9, rel=1e-3)
    assert arch.format_count(138_357_544) == "138M" and arch.format_count(999) == "999"


def test_layer_table_width_and_size():
    vgg_224, vgg_160 = arch.layer_table("VGG-16"), arch.layer_table("VGG-16", size=160)
    fc1 = {r.name: r.params for r in vgg_224}["fc1"], {r.name: r.params for r in vgg_160}["fc1"]
    assert fc1 == (512 * 7 * 7 * 4096 + 4096, 512 * 5 * 5 * 4096 + 4096)
    resnet = [sum(r.params for r in arch.layer_table("ResNet-18", size=s)) for s in (64, 224, 320)]
    assert len(set(resnet)) == 1                                          # global average pooling
    half = {r.name: r.params for r in arch.layer_table("VGG-16", width=0.5)}
    assert half["conv2"] == 32 * 32 * 9 + 32
    assert arch.layer_table("AlexNet", size=10)[0].shape == (96, 15, 15)  # raised to the minimum size 67
    with pytest.raises(ValueError, match="name must be one of"):
        arch.layer_table("LeNet-6")


def test_residual_connections_keep_the_gradient():
    plain, resid = arch.residual_gradient_flow(20, False), arch.residual_gradient_flow(20, True)
    assert plain.shape == resid.shape == (21,)
    assert plain[0] / plain[-1] < 1e-6 < 0.3 < resid[0] / resid[-1]


def test_transformer_sizes():
    sizes = {n: arch.count_parameters(arch.transformer(n)) for n in arch.TRANSFORMERS}
    assert sizes == {"BERT-base": 109_482_240, "GPT-2 (small)": 124_439_808, "GPT-2 XL": 1_557_611_200,
                     "ViT-B/16": 86_567_656}
    with pytest.raises(ValueError, match="name must be one of"):
        arch.transformer("GPT-5")


def test_architecture_builder():
    demo = widgets.make_architecture_builder("VGG-16")
    assert demo.data.total_params == 138_357_544
    assert changed(demo, "name", "AlexNet").total_params == 60_965_224   # at its own input size, 227
    assert demo.controls["size"].value == 227
    assert changed(demo, "size", 160).size == 160
    assert changed(demo, "depth", 40).plain.shape == (41,)
    assert "parameters" in demo.caption.value



def test_architecture_builder_keeps_one_static_layer_per_network():
    """No switch of network redraws a static layer, and switching back shows exactly the picture shown before.

    Fails if the cache is keyed on something else than the network (a stale AlexNet layer under VGG-16's bars would
    give a different picture), or is lost when the notebook keeps the widget's picture (full_redraws would grow on a
    switch: the 108 ms row of issue 14).
    """
    demo = widgets.make_architecture_builder("VGG-16")
    first = bytes(demo.image.value)
    redraws = demo.renderer.full_redraws
    assert redraws == len(arch.SPECS)                 # every network drawn once, when the demo is made
    demo.controls["name"].value = "AlexNet"
    alexnet = bytes(demo.image.value)
    assert alexnet != first
    demo.controls["name"].value = "VGG-16"
    assert bytes(demo.image.value) == first
    demo.controls["name"].value = "AlexNet"
    assert bytes(demo.image.value) == alexnet
    assert demo.renderer.full_redraws == redraws
    demo._repr_mimebundle_()                          # the notebook keeps a picture at twice the resolution
    redraws = demo.renderer.full_redraws
    for name in ["ResNet-18", "LeNet-5", "VGG-16"]:
        demo.controls["name"].value = name
        assert demo.data.name == name and name in demo.renderer.view.title.get_text()
    assert demo.renderer.full_redraws == redraws
    assert bytes(demo.image.value) == first


# -- RNN unroller --------------------------------------------------------------------------------------
def test_unroller_gradient_norms_match_torch_autograd(torch):
    T = 12
    d = ur.compute_unroller("RNN", T=T, scale=1.3)
    layer = ur.make_cell("RNN", 1.3, 0.0, 0)
    rng = np.random.default_rng(1)                                       # the inputs compute_unroller draws
    x = rng.normal(0.0, 1.0, (T, ur.BATCH, ur.INPUTS))
    v = rng.normal(size=(ur.BATCH, ur.HIDDEN))
    cell = torch.nn.RNNCell(ur.INPUTS, ur.HIDDEN)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.tensor(layer.params[name]))
    h, states = torch.zeros(ur.BATCH, ur.HIDDEN), []
    for t in range(T):
        h = cell(torch.tensor(x[t]), h)
        h.retain_grad()
        states.append(h)
    (h * torch.tensor(v)).sum().backward()
    want = [float(s.grad.norm()) for s in states]
    np.testing.assert_allclose(d.grad_norms["RNN"], want, rtol=1e-10)
    assert np.all(d.grad_norms["RNN"] <= d.bound * (1 + 1e-9))            # the ρ^(T - t) bound


def test_unroller_regimes_clipping_and_gates():
    ratio = lambda d, c: d.grad_norms[c][0] / d.grad_norms[c][-1]  # noqa: E731
    assert ratio(ur.compute_unroller("RNN", 40, 0.7), "RNN") < 1e-5      # vanishes
    assert ratio(ur.compute_unroller("RNN", 40, 2.5), "RNN") > 1e2       # explodes
    free, clipped = ur.compute_unroller("RNN", 40, 2.5), ur.compute_unroller("RNN", 40, 2.5, clip=True)
    factor = clipped.grad_norms["RNN"] / free.grad_norms["RNN"]
    np.testing.assert_allclose(factor, 1.0 / free.param_norms["RNN"])     # one factor for every step
    assert ratio(ur.compute_unroller("LSTM", 40, 1.0, gate_bias=3.0), "LSTM") > \
        100 * ratio(ur.compute_unroller("LSTM", 40, 1.0, gate_bias=0.0), "LSTM")
    with pytest.raises(ValueError, match="cell must be one of"):
        ur.make_cell("Transformer")


def test_rnn_unroller_widget_and_diagrams():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    demo = widgets.make_rnn_unroller()
    assert changed(demo, "T", 60).states.shape == (ur.HIDDEN, 60)
    assert changed(demo, "cell", "GRU").cell == "GRU"
    assert changed(demo, "clip", True).clip and "Clipping rescales" in demo.caption.value
    for draw in (ur.plot_io_patterns, ur.plot_unrolled):
        fig = plt.figure()
        draw(fig)
        assert len(fig.axes) >= 2
        plt.close(fig)


# -- adding problem and gates --------------------------------------------------------------------------
def test_the_cached_curves_tell_the_story():
    assert set(ADDING_CURVES) == {(k, T) for k in ("RNN", "LSTM", "GRU") for T in add.LENGTHS}
    assert all(len(v) == len(ADDING_STEPS) for v in ADDING_CURVES.values())
    final = {key: min(v[-4:]) for key, v in ADDING_CURVES.items()}
    for T in (50, 100):
        assert final[("RNN", T)] > 0.8 * ADDING_BASELINE_MSE
    for T in add.LENGTHS:
        assert final[("LSTM", T)] < 0.1 * ADDING_BASELINE_MSE and final[("GRU", T)] < 0.1 * ADDING_BASELINE_MSE
    assert final[("RNN", 10)] < 0.1 * ADDING_BASELINE_MSE


def test_training_reproduces_the_start_of_a_cached_curve():
    run = add.train_adding("LSTM", 10, steps=100, progress=False, **{k: v for k, v in add.DEFAULTS.items()
                                                                      if k != "steps"})
    np.testing.assert_array_equal(run.steps, ADDING_STEPS[:4])
    np.testing.assert_allclose(run.test_mse, ADDING_CURVES[("LSTM", 10)][:4], rtol=0.05)


def test_write_cache_round_trip(tmp_path):
    curves = {(k, T): (ADDING_STEPS, ADDING_CURVES[(k, T)]) for k in ("RNN", "LSTM", "GRU") for T in add.LENGTHS}
    path = tmp_path / "cached.py"
    add.write_cache(path, curves)
    space = {}
    exec(path.read_text(), space)
    assert space["ADDING_STEPS"] == ADDING_STEPS
    for key, values in ADDING_CURVES.items():
        np.testing.assert_allclose(space["ADDING_CURVES"][key], values, atol=5e-6)


def test_gates_agree_with_the_layer_and_the_torch_model(torch):
    layer, w, b, data = add._inspected(50)
    d = add.compute_gates(4)
    assert set(d.gates) == {"input i", "forget f", "output o", "cell c"}
    assert all(g.shape == (16, 50) for g in d.gates.values())
    for name in ("input i", "forget f", "output o"):
        assert np.all((d.gates[name] > 0) & (d.gates[name] < 1))
    out, _ = layer(d.x[:, None, :])
    np.testing.assert_allclose(d.gates["output o"] * np.tanh(d.gates["cell c"]), out[:, 0].T, atol=1e-12)
    model = add.trained_adding_model("LSTM", 50).model
    with torch.no_grad():
        want = float(model(torch.tensor(d.x[:, None, :], dtype=torch.float32))[0])
    assert d.prediction == pytest.approx(want, abs=1e-5)
    assert d.target == pytest.approx(d.x[d.x[:, 1] == 1, 0].sum())


def test_adding_and_gate_widgets(monkeypatch):
    demo = widgets.make_adding_demo(50)
    assert set(demo.data.curves) == {"RNN", "LSTM", "GRU"} and not demo.data.live
    assert changed(demo, "seq_len", 10).seq_len == 10
    assert "Solved: RNN, LSTM, GRU" in demo.caption.value

    def fake_retrain(seq_len, callback=None):
        for kind in ("RNN", "LSTM", "GRU"):
            callback(25, 0.1)
            session.store(("adding live", kind, seq_len), (np.array([25, 50]), np.array([0.2, 0.1])))

    def forget_fakes():   # the fake curves must not outlive this test (nor real ones enter it)
        for kind in ("RNN", "LSTM", "GRU"):
            session.forget(("adding live", kind, 10))

    monkeypatch.setattr(add, "retrain", fake_retrain)
    forget_fakes()
    try:
        demo._run()
        assert demo.data.live and demo.progress.value == 75 and not demo.run_button.disabled
    finally:
        forget_fakes()
    with pytest.raises(ValueError, match="seq_len must be one of"):
        add.compute_adding(30)
    gates = widgets.make_gate_inspector()
    assert changed(gates, "index", 5).index == 5


# -- forecasting ---------------------------------------------------------------------------------------
def test_echo_state_network():
    esn = fc.EchoStateNetwork(n_reservoir=100, spectral_radius=0.8, rng=1)
    assert np.max(np.abs(np.linalg.eigvals(esn.W))) == pytest.approx(0.8)
    s = np.sin(2 * np.pi * np.arange(600) / 30)
    esn.fit(s[:-1], s[1:])
    np.testing.assert_allclose(esn.forecast(s[:500], 50), s[500:550], atol=1e-3)
    a = esn.states(s[:200], np.ones(100))
    b = esn.states(s[:200], -np.ones(100))
    assert np.abs(a[-1] - b[-1]).max() < 1e-6                            # the echo-state property
    with pytest.raises(RuntimeError, match="call fit"):
        fc.EchoStateNetwork(n_reservoir=10).forecast(s[:20], 3)
    with pytest.raises(ValueError, match="same length"):
        esn.fit(s[:10], s[:9])
    with pytest.raises(ValueError, match="leak must be in"):
        fc.EchoStateNetwork(leak=0.0)


def test_lstm_forecaster_matches_torch(torch):
    lstm, head, losses = fc.train_forecast_lstm("two sines", steps=2, progress=False)
    f = fc.LSTMForecaster(lstm, head)
    history = fc.forecast_series()[:100]
    with torch.no_grad():
        out, _ = lstm(torch.tensor(history[:, None, None], dtype=torch.float32))
        first = float(head(out[-1])[0, 0])
    preds = f.forecast(history, 3)
    assert preds.shape == (3,) and preds[0] == pytest.approx(first, abs=1e-5)
    with torch.no_grad():
        out, _ = lstm(torch.tensor(np.r_[history, preds[0]][:, None, None], dtype=torch.float32))
        assert preds[1] == pytest.approx(float(head(out[-1])[0, 0]), abs=1e-5)
    assert len(losses) == 2 and fc.persistence(history, 4).tolist() == [history[-1]] * 4
    with pytest.raises(ValueError, match="series must be one of"):
        fc.forecast_series("random walk")


def test_forecast_widget():
    d = fc.compute_forecast("Mackey-Glass", origin=3, horizon=30)
    assert d.truth.shape == (30,) and all(f.shape == (30,) for f in d.forecasts.values())
    assert set(d.rmse) == {"ESN", "LSTM", "last value"} and d.rmse["ESN"].shape == (fc.MAX_HORIZON,)
    demo = widgets.make_forecast_demo()
    assert changed(demo, "horizon", 100).horizon == 100
    assert changed(demo, "series", "Mackey-Glass").series == "Mackey-Glass"
    assert changed(demo, "origin", 7).origin == fc.ORIGINS[7]


# -- text ----------------------------------------------------------------------------------------------
def test_char_sampler_matches_torch_and_temperature(torch):
    sampler = txt.trained_sampler()
    emb, lstm, head = txt.train_char_model(steps=1, progress=False)[0]
    s = txt.CharSampler((emb, lstm, head), txt.text_corpus()[1])
    ids = torch.tensor(s.vocab.encode("a robot "))
    with torch.no_grad():
        out, _ = lstm(emb(ids)[:, None, :])
        want = head(out[-1])[0].double().numpy()
    np.testing.assert_allclose(s.logits("a robot "), want, atol=1e-5)
    greedy = sampler.sample("the ", 30, temperature=1e-3, rng=0)
    assert greedy == sampler.sample("the ", 30, temperature=1e-3, rng=5)  # τ → 0 is the arg-max
    assert sampler.sample("the ", 30, temperature=1.0, rng=1) == sampler.sample("the ", 30, temperature=1.0, rng=1)
    assert txt.valid_word_fraction(txt.text_corpus()[0][:2000]) == 1.0 and txt.valid_word_fraction("zzq") == 0.0
    with pytest.raises(ValueError, match="temperature must be in"):
        sampler.sample(temperature=0.0)


def test_text_generator_widget():
    demo = widgets.make_text_generator()
    d = changed(demo, "temperature", 2.0)
    assert d.probs.sum() == pytest.approx(1.0) and d.text.startswith("the ")
    assert np.max(d.probs) <= np.max(d.probs_1) + 1e-12                  # τ > 1 flattens
    assert changed(demo, "prompt", "a robot ").text.startswith("a robot ")
    assert "real words" in demo.caption.value


def test_sentiment_rnn_gradients_and_attributions():
    from dlcourse.checks import numerical_gradient

    model = txt.SentimentRNN(6, hidden=4, rng=0)
    tokens = np.array([[0, 1, 2, 3], [4, 5, 1, 2]])
    g = np.random.default_rng(0).normal(size=(2, 2))
    model.forward(tokens)
    model.zero_grad()
    dx = model.backward(g)
    assert dx.shape == (4, 2, 6)
    w = model.rnn.params["weight_hh"]

    def loss(value):
        old = w.copy()
        w[...] = value
        try:
            return float(np.sum(g * model.forward(tokens)))
        finally:
            w[...] = old

    np.testing.assert_allclose(model.rnn.grads["weight_hh"], numerical_gradient(loss, w.copy()), rtol=1e-6,
                               atol=1e-9)
    trained, history = txt.trained_sentiment()
    vocab = txt.sentiment_split()[0].vocab
    words, attr, p = txt.word_attributions(trained, "the film was very good", vocab)
    assert words[-1] == "good" and len(attr) == 5 and 0 <= p <= 1
    with pytest.raises(ValueError, match="not in the vocabulary"):
        txt.word_attributions(trained, "the film was superb", vocab)
    assert txt.bag_of_words_accuracy() < 0.8


def test_sentiment_widget():
    demo = widgets.make_sentiment_demo()
    d = changed(demo, "sentence", "the acting was great but the ending was dull")
    assert len(d.words) == 9 and not d.error
    d = changed(demo, "sentence", "the film was superb")
    assert d.error.startswith("words not in the vocabulary") and demo.data.words == []
    assert changed(demo, "sentence", "").error == "type a sentence"


def test_every_benchmark_case_is_a_real_move():
    for name, (factory, moves) in widgets.BENCHMARK_CASES.items():
        demo = factory()                     # renders once; the moves below only recompute
        demo.redraw = lambda: None
        for control, value in moves:
            assert control in demo.controls, (name, control)
            demo.controls[control].value = value
        assert isinstance(demo.controls[moves[0][0]], W.Widget)


# -- the torch training step --------------------------------------------------------------------------
@pytest.mark.parametrize("clip, schedule, closure", [(None, False, False), (0.05, False, False),
                                                     (None, True, False), (0.05, True, True)],
                         ids=["plain", "clipped", "scheduled", "clipped_scheduled_closure"])
def test_torch_train_step_equals_the_hand_written_step(torch, clip, schedule, closure):
    """``torch_train_step`` takes exactly the hand-written step, bit for bit, over five steps of SGD with momentum.

    Every case fails if it skips ``zero_grad`` (gradients pile up from step 2); "clipped" fails if it clips
    after the update, over other parameters, or not at all (the gradients' norm is far above 0.05, checked);
    "scheduled" fails if it steps the scheduler before the optimizer or never (StepLR halves the rate every
    two steps); the closure case fails if a callable loss is not called.
    """
    gen = torch.Generator().manual_seed(0)
    X, Y = torch.randn(16, 3, generator=gen), torch.randn(16, 2, generator=gen)
    torch.manual_seed(0)
    mine = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    theirs.load_state_dict(mine.state_dict())

    def setup(model):
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if schedule else None

    (opt_m, sched_m), (opt_t, sched_t) = setup(mine), setup(theirs)
    for _ in range(5):
        loss = lambda: torch.mean((mine(X) - Y) ** 2)  # noqa: E731
        got = common.torch_train_step(loss if closure else loss(), opt_m, clip_grad_norm=clip, scheduler=sched_m)
        expected = torch.mean((theirs(X) - Y) ** 2)
        opt_t.zero_grad()
        expected.backward()
        if clip is not None:
            assert torch.nn.utils.clip_grad_norm_(theirs.parameters(), clip) > 10 * clip
        opt_t.step()
        if schedule:
            sched_t.step()
        assert got == expected.item()
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert torch.equal(p, q), name
    assert opt_m.param_groups[0]["lr"] == opt_t.param_groups[0]["lr"] == (0.025 if schedule else 0.1)


# -- the trained models' claims (seconds each) ---------------------------------------------------------
@pytest.mark.slow
def test_the_cnns_reach_their_accuracies():
    run = cnn.train_torch_cnn(progress=False)
    assert run.test_acc >= 0.98
    mine = cnn.train_numpy_cnn(progress=False)
    assert mine.test_acc >= 0.95


@pytest.mark.slow
def test_lstm_solves_the_adding_problem_where_the_rnn_fails():
    runs = {k: add.train_adding(k, 50, progress=False, **add.DEFAULTS) for k in ("RNN", "LSTM")}
    assert runs["LSTM"].test_mse[-1] < 0.1 * ADDING_BASELINE_MSE < 0.8 * ADDING_BASELINE_MSE < runs["RNN"].test_mse[-1]
    data = make_adding_problem(3, 50, rng=0)
    assert data.X.shape == (50, 3, 2)
