"""Tests for dlcourse.layers.recurrent: RNN, LSTM, GRU and their cells against torch.nn (float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient, numerical_jacobian_vector
from dlcourse.layers.recurrent import (GRU, LSTM, RNN, CellGrads, gru_cell_backward, gru_cell_forward,
                                       lstm_cell_backward, lstm_cell_forward, rnn_cell_backward,
                                       rnn_cell_forward)

pytestmark = pytest.mark.unit5

TOL = dict(rtol=1e-10, atol=1e-12)
FD_TOL = dict(rtol=1e-6, atol=1e-8)
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

LAYERS = {"RNN": (RNN, 1), "LSTM": (LSTM, 4), "GRU": (GRU, 3)}   # class, number of gates
# layer, T, N, D, H, with initial state, with gradient of the final state
LAYER_CASES = [
    ("RNN", 5, 3, 4, 6, False, False),
    ("RNN", 4, 2, 3, 5, True, True),
    ("RNN", 1, 1, 1, 1, True, False),
    ("LSTM", 5, 3, 4, 6, False, False),
    ("LSTM", 4, 2, 3, 5, True, True),
    ("LSTM", 1, 1, 2, 1, True, True),
    ("GRU", 5, 3, 4, 6, False, False),
    ("GRU", 4, 2, 3, 5, True, True),
    ("GRU", 2, 1, 1, 3, False, True),
]
LAYER_IDS = [f"{n}_T{T}_N{N}_D{D}_H{H}{'_h0' if s0 else ''}{'_gradhn' if gn else ''}"
             for n, T, N, D, H, s0, gn in LAYER_CASES]


def _layer_pair(torch, name, D, H, seed=0):
    cls, _ = LAYERS[name]
    torch.manual_seed(seed)
    tlayer = getattr(torch.nn, name)(D, H)
    layer = cls(D, H, rng=seed + 100)
    layer.load_torch(tlayer)
    return layer, tlayer


@pytest.mark.parametrize("name, T, N, D, H, with_state, with_grad_n", LAYER_CASES, ids=LAYER_IDS)
def test_recurrent_layer_matches_torch(torch, rng, name, T, N, D, H, with_state, with_grad_n):
    layer, tlayer = _layer_pair(torch, name, D, H)
    lstm = name == "LSTM"
    x = rng.normal(size=(T, N, D))
    states = [rng.normal(size=(1, N, H)) for _ in range(2 if lstm else 1)] if with_state else None
    g_out = rng.normal(size=(T, N, H))
    g_n = [rng.normal(size=(1, N, H)) for _ in range(2 if lstm else 1)] if with_grad_n else [None] * (1 + lstm)

    xt = torch.tensor(x, requires_grad=True)
    st_t = [torch.tensor(s, requires_grad=True) for s in states] if with_state else None
    out_t, fin_t = tlayer(xt, (tuple(st_t) if lstm else st_t[0]) if with_state else None)
    fin_t = list(fin_t) if lstm else [fin_t]
    loss = (out_t * torch.tensor(g_out)).sum()
    for f, g in zip(fin_t, g_n):
        if g is not None:
            loss = loss + (f * torch.tensor(g)).sum()
    loss.backward()

    out, fin = layer.forward(x, (tuple(states) if lstm else states[0]) if with_state else None)
    fin = list(fin) if lstm else [fin]
    dx = layer.backward(g_out, *g_n)

    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    for f, f_t in zip(fin, fin_t):
        assert f.shape == (1, N, H)
        np.testing.assert_allclose(f, f_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    for p in PARAMS:
        np.testing.assert_allclose(layer.grads[p], getattr(tlayer, p + "_l0").grad.numpy(), **TOL, err_msg=p)
    if with_state:
        np.testing.assert_allclose(layer.grad_h0, st_t[0].grad.numpy(), **TOL)
        if lstm:
            np.testing.assert_allclose(layer.grad_c0, st_t[1].grad.numpy(), **TOL)


@pytest.mark.parametrize("name", LAYERS)
def test_recurrent_params_have_torch_names_and_shapes(torch, name):
    layer, tlayer = _layer_pair(torch, name, 3, 4)
    _, G = LAYERS[name]
    assert {layer.torch_name(k): v.shape for k, v in layer.params.items()} == \
        {k: tuple(v.shape) for k, v in tlayer.named_parameters()}
    assert layer.params["weight_ih"].shape == (G * 4, 3) and layer.torch_name("weight_ih") == "weight_ih_l0"
    bound = 1 / np.sqrt(4)          # torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every parameter
    fresh = LAYERS[name][0](3, 4, rng=0)
    assert all(np.all(np.abs(v) <= bound) for v in fresh.parameters())


@pytest.mark.parametrize("name", LAYERS)
def test_recurrent_backward_accumulates(rng, name):
    layer = LAYERS[name][0](2, 3, rng=0)
    x, g = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 3))
    layer.forward(x)
    layer.backward(g)
    once = [v.copy() for v in layer.gradients()]
    layer.backward(g)
    for a, b in zip(layer.gradients(), once):
        np.testing.assert_allclose(a, 2 * b, **TOL)


# --------------------------------------------------------------------------- cells
CELLS = {
    "RNN": (rnn_cell_forward, rnn_cell_backward, 1),
    "LSTM": (lstm_cell_forward, lstm_cell_backward, 4),
    "GRU": (gru_cell_forward, gru_cell_backward, 3),
}


def _cell_inputs(rng, G, N=3, D=4, H=5):
    lstm = G == 4
    return dict(x=rng.normal(size=(N, D)), h_prev=rng.normal(size=(N, H)),
                **({"c_prev": rng.normal(size=(N, H))} if lstm else {}),
                weight_ih=rng.normal(size=(G * H, D)) * 0.5, weight_hh=rng.normal(size=(G * H, H)) * 0.5,
                bias_ih=rng.normal(size=G * H) * 0.5, bias_hh=rng.normal(size=G * H) * 0.5)


def _cell_outputs(fwd, inputs):
    """The cell's outputs as a list: [h] or [h, c]."""
    res = fwd(**inputs)
    return list(res[:-1])


@pytest.mark.parametrize("name", CELLS)
def test_cell_matches_torch_cell(torch, rng, name):
    fwd, bwd, G = CELLS[name]
    inputs = _cell_inputs(rng, G)
    lstm = G == 4
    cell = getattr(torch.nn, name + "Cell")(4, 5)
    with torch.no_grad():
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, p).copy_(torch.tensor(inputs[p]))
    xt = torch.tensor(inputs["x"], requires_grad=True)
    ht = torch.tensor(inputs["h_prev"], requires_grad=True)
    ct = torch.tensor(inputs["c_prev"], requires_grad=True) if lstm else None
    outs_t = list(cell(xt, (ht, ct))) if lstm else [cell(xt, ht)]
    grads_out = [rng.normal(size=(3, 5)) for _ in outs_t]
    sum((o * torch.tensor(g)).sum() for o, g in zip(outs_t, grads_out)).backward()

    *outs, cache = fwd(**inputs)
    grads = bwd(*grads_out, cache)
    assert isinstance(grads, CellGrads)
    for o, o_t in zip(outs, outs_t):
        np.testing.assert_allclose(o, o_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(grads.x, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads.h_prev, ht.grad.numpy(), **TOL)
    if lstm:
        np.testing.assert_allclose(grads.c_prev, ct.grad.numpy(), **TOL)
    else:
        assert grads.c_prev is None
    for p in PARAMS:
        np.testing.assert_allclose(getattr(grads, p), getattr(cell, p).grad.numpy(), **TOL, err_msg=p)


@pytest.mark.parametrize("name", CELLS)
def test_cell_gradients_match_finite_differences(rng, name):
    fwd, bwd, G = CELLS[name]
    inputs = _cell_inputs(rng, G, N=2, D=3, H=2)
    outs = _cell_outputs(fwd, inputs)
    grads_out = [rng.normal(size=o.shape) for o in outs]
    grads = bwd(*grads_out, fwd(**inputs)[-1])

    def objective(key):
        def f(value):
            res = _cell_outputs(fwd, {**inputs, key: value})
            return sum(np.sum(o * g) for o, g in zip(res, grads_out))
        return f

    for key in inputs:
        np.testing.assert_allclose(getattr(grads, key), numerical_gradient(objective(key), inputs[key]),
                                   **FD_TOL, err_msg=key)


def test_gru_uses_torch_reset_convention(rng):
    """n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), not W_hn (r ⊙ h): b_hn is scaled by r."""
    H, D = 2, 1
    inputs = dict(x=np.zeros((1, D)), h_prev=np.zeros((1, H)), weight_ih=np.zeros((3 * H, D)),
                  weight_hh=np.zeros((3 * H, H)), bias_ih=np.zeros(3 * H), bias_hh=np.zeros(3 * H))
    inputs["bias_hh"][2 * H:] = 1.0              # b_hn = 1; r = σ(0) = 1/2, z = 1/2
    h, _ = gru_cell_forward(**inputs)
    np.testing.assert_allclose(h, 0.5 * np.tanh(0.5) * np.ones((1, H)), **TOL)


def test_lstm_cell_hand_computed():
    """With zero weights and biases: every gate is σ(0) = 1/2 and g = 0, so c = c_prev / 2."""
    N, D, H = 1, 2, 3
    c_prev = np.array([[1.0, -2.0, 4.0]])
    h, c, _ = lstm_cell_forward(np.ones((N, D)), np.ones((N, H)), c_prev, np.zeros((4 * H, D)),
                                np.zeros((4 * H, H)), np.zeros(4 * H), np.zeros(4 * H))
    np.testing.assert_allclose(c, c_prev / 2, **TOL)
    np.testing.assert_allclose(h, 0.5 * np.tanh(c_prev / 2), **TOL)


# --------------------------------------------------------------------------- layers: finite differences
@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradients_match_finite_differences(rng, name):
    cls, _ = LAYERS[name]
    layer = cls(2, 3, rng=1)
    T, N = 3, 2
    lstm = name == "LSTM"
    x = rng.normal(size=(T, N, 2))
    states = [rng.normal(size=(1, N, 3)) for _ in range(1 + lstm)]
    g = rng.normal(size=(T, N, 3))

    def run(x=x, states=states):
        return layer.forward(x, tuple(states) if lstm else states[0])[0]

    run()
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(lambda z: run(x=z), x, g), **FD_TOL)
    np.testing.assert_allclose(layer.grad_h0, numerical_jacobian_vector(
        lambda z: run(states=[z] + states[1:]), states[0], g), **FD_TOL)
    if lstm:
        np.testing.assert_allclose(layer.grad_c0, numerical_jacobian_vector(
            lambda z: run(states=[states[0], z]), states[1], g), **FD_TOL)
    for p in PARAMS:
        saved = layer.params[p].copy()

        def f(w, p=p, saved=saved):
            layer.params[p][...] = w
            try:
                return np.sum(run() * g)
            finally:
                layer.params[p][...] = saved
        np.testing.assert_allclose(layer.grads[p], numerical_gradient(f, saved), **FD_TOL, err_msg=p)


# --------------------------------------------------------------------------- gradient norms over time
@pytest.mark.parametrize("name", LAYERS)
def test_last_grad_norms_match_torch_unrolled_cells(torch, rng, name):
    """last_grad_norms[t] = ||∂L/∂h_{t+1}||, the total gradient reaching each hidden state."""
    layer, tlayer = _layer_pair(torch, name, 3, 4)
    T, N = 6, 2
    x, g = rng.normal(size=(T, N, 3)), rng.normal(size=(T, N, 4))
    layer.forward(x)
    layer.backward(g)
    assert layer.last_grad_norms.shape == (T,)

    cell = getattr(torch.nn, name + "Cell")(3, 4)
    with torch.no_grad():
        for p in PARAMS:
            getattr(cell, p).copy_(getattr(tlayer, p + "_l0"))
    h, c, hs = torch.zeros(N, 4), torch.zeros(N, 4), []
    for t in range(T):
        if name == "LSTM":
            h, c = cell(torch.tensor(x[t]), (h, c))
        else:
            h = cell(torch.tensor(x[t]), h)
        h.retain_grad()
        hs.append(h)
    sum((h * torch.tensor(g[t])).sum() for t, h in enumerate(hs)).backward()
    expected = [float(h.grad.norm()) for h in hs]
    np.testing.assert_allclose(layer.last_grad_norms, expected, **TOL)


def test_rnn_gradient_vanishes_over_time_with_small_weights(rng):
    """Loss on the last output only: with ||W_hh|| < 1 the gradient shrinks going back in time."""
    layer = RNN(3, 8, rng=0)
    layer.params["weight_hh"] *= 0.5
    T = 20
    x = rng.normal(size=(T, 4, 3))
    out, _ = layer.forward(x)
    g = np.zeros_like(out)
    g[-1] = 1.0
    layer.backward(g)
    norms = layer.last_grad_norms
    assert np.all(np.diff(norms) > 0)              # increasing towards the last step
    assert norms[0] < 1e-4 * norms[-1]


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(list(LAYERS)), scale=st.sampled_from([1e-6, 1.0, 1e3]),
       T=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_recurrent_outputs_are_bounded_and_finite(name, scale, T, seed):
    """tanh-bounded states stay in [-1, 1], even for huge inputs (no overflow, no NaN)."""
    r = np.random.default_rng(seed)
    layer = LAYERS[name][0](2, 3, rng=seed)
    x = r.normal(size=(T, 2, 2)) * scale
    out, _ = layer.forward(x)
    assert np.all(np.isfinite(out)) and np.all(np.abs(out) <= 1.0)
    dx = layer.backward(np.ones_like(out))
    assert np.all(np.isfinite(dx)) and np.all(np.isfinite(layer.last_grad_norms))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", LAYERS)
def test_recurrent_rejects_bad_input(name):
    cls, _ = LAYERS[name]
    layer = cls(3, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(T, N, 3\) \(time first"):
        layer.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"got \(5, 2, 4\)"):
        layer.forward(np.zeros((5, 2, 4)))
    bad_state = np.zeros((2, 4))                                  # forgot the leading 1
    hx = (bad_state, np.zeros((1, 2, 4))) if name == "LSTM" else bad_state
    with pytest.raises(ValueError, match=r"h0 must have shape \(1, 2, 4\), got \(2, 4\)"):
        layer.forward(np.zeros((5, 2, 3)), hx)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        cls(3, 4).backward(np.zeros((5, 2, 4)))
    layer.forward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(5, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"grad_h_n must have shape \(1, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 4)), np.zeros((2, 4)))


def test_lstm_rejects_hx_that_is_not_a_pair():
    with pytest.raises(TypeError, match=r"hx must be None or a pair \(h0, c0\)"):
        LSTM(3, 4).forward(np.zeros((2, 1, 3)), np.zeros((1, 1, 4)))


def test_cells_reject_bad_shapes(rng):
    inputs = _cell_inputs(rng, 4, N=2, D=3, H=2)
    with pytest.raises(ValueError, match=r"c_prev must have shape \(2, 2\)"):
        lstm_cell_forward(**{**inputs, "c_prev": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"weight_hh of the GRU cell must have shape \(3\*H, H\)"):
        gru_cell_forward(**{k: v for k, v in inputs.items() if k != "c_prev"})
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(8, 3\)"):
        lstm_cell_forward(**{**inputs, "weight_ih": np.zeros((8, 2))})
    with pytest.raises(TypeError, match="cache must be the RNNCache returned by rnn_cell_forward"):
        rnn_cell_backward(np.zeros((2, 2)), cache=None)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_layers=2), "num_layers=1"),
    (dict(bidirectional=True), "bidirectional=False"),
    (dict(bias=False), "bias=True"),
])
def test_load_torch_rejects_other_configurations(torch, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTM(3, 4).load_torch(torch.nn.LSTM(3, 4, **kwargs))
    with pytest.raises(ValueError, match="nonlinearity='tanh'"):
        RNN(3, 4).load_torch(torch.nn.RNN(3, 4, nonlinearity="relu"))


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, "float32", "torch.float32"])
def test_float32_layer_matches_torch_float32(torch, rng, name, dtype):
    """dtype=float32 (as torch's dtype argument): every array stays float32 and matches torch in float32."""
    cls, _ = LAYERS[name]
    T, N, D, H = 6, 4, 5, 7
    torch.manual_seed(0)
    tlayer = getattr(torch.nn, name)(D, H, dtype=torch.float32)
    layer = cls(D, H, rng=0, dtype=torch.float32 if dtype == "torch.float32" else dtype)
    layer.load_torch(tlayer)
    assert all(p.dtype == np.float32 for p in layer.parameters() + layer.gradients())
    x, g_out = rng.normal(size=(T, N, D)), rng.normal(size=(T, N, H))   # float64 in, converted to float32
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    out_t = tlayer(xt)[0]
    (out_t * torch.tensor(g_out, dtype=torch.float32)).sum().backward()
    out, _ = layer.forward(x)
    dx = layer.backward(g_out)
    assert out.dtype == dx.dtype == np.float32
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    for p in PARAMS:
        assert layer.grads[p].dtype == np.float32
        np.testing.assert_allclose(layer.grads[p], getattr(tlayer, p + "_l0").grad.numpy(), **tol, err_msg=p)
    assert f"dtype=float32" in repr(layer)


@pytest.mark.parametrize("dtype", ["float16", np.int64, "double", None])
def test_recurrent_rejects_other_dtypes(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        LSTM(3, 4, dtype=dtype)
