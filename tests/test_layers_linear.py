"""Tests for dlcourse.layers: Linear, Activation and Sequential against torch.nn (float64)."""

import numpy as np
import pytest

from dlcourse.checks import numerical_jacobian_vector
from dlcourse.layers import Activation, Linear, ReLU, Sequential, Sigmoid, Tanh

pytestmark = pytest.mark.unit1

TOL = dict(rtol=1e-10, atol=1e-12)
FD_TOL = dict(rtol=1e-6, atol=1e-8)

# in_features, out_features, bias, input shape
LINEAR_CASES = [
    (3, 2, True, (5, 3)),
    (4, 3, False, (6, 4)),
    (3, 5, True, (2, 4, 3)),
    (2, 3, False, (3, 2, 2)),
    (1, 1, True, (1, 1)),
    (3, 2, True, (3,)),
]
LINEAR_IDS = [f"{i}to{o}_{'bias' if b else 'nobias'}_{'x'.join(map(str, s))}" for i, o, b, s in LINEAR_CASES]


def _pair(torch, in_f, out_f, bias, seed=0):
    torch.manual_seed(seed)
    tl = torch.nn.Linear(in_f, out_f, bias=bias)
    layer = Linear(in_f, out_f, bias=bias, rng=seed + 100)
    layer.load_torch(tl)
    return layer, tl


@pytest.mark.parametrize("in_f, out_f, bias, shape", LINEAR_CASES, ids=LINEAR_IDS)
def test_linear_matches_torch(torch, rng, in_f, out_f, bias, shape):
    layer, tl = _pair(torch, in_f, out_f, bias)
    x = rng.normal(size=shape)
    g = rng.normal(size=shape[:-1] + (out_f,))
    xt = torch.tensor(x, requires_grad=True)
    yt = tl(xt)
    yt.backward(torch.tensor(g))

    y = layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(layer.grads["weight"], tl.weight.grad.numpy(), **TOL)
    if bias:
        np.testing.assert_allclose(layer.grads["bias"], tl.bias.grad.numpy(), **TOL)
    for name, p in tl.named_parameters():
        assert layer.params[name].shape == tuple(p.shape) == layer.grads[name].shape
    assert set(layer.params) == {n for n, _ in tl.named_parameters()}


def _output_with_param(layer, name, value, x):
    """The layer's output with parameter ``name`` temporarily set to ``value``."""
    saved = layer.params[name].copy()
    layer.params[name][...] = value
    try:
        return layer.forward(x)
    finally:
        layer.params[name][...] = saved


@pytest.mark.parametrize("in_f, out_f, bias, shape", LINEAR_CASES, ids=LINEAR_IDS)
def test_linear_matches_finite_differences(rng, in_f, out_f, bias, shape):
    layer = Linear(in_f, out_f, bias=bias, rng=1)
    x = rng.normal(size=shape)
    g = rng.normal(size=shape[:-1] + (out_f,))
    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(layer.forward, x, g), **FD_TOL)
    for name, value in layer.params.items():
        num = numerical_jacobian_vector(lambda p: _output_with_param(layer, name, p, x), value, g)
        np.testing.assert_allclose(layer.grads[name], num, **FD_TOL, err_msg=name)


def test_linear_hand_computed():
    layer = Linear(2, 1)
    layer.params["weight"][...] = [[2.0, -1.0]]
    layer.params["bias"][...] = [0.5]
    y = layer.forward([[1.0, 3.0], [0.0, 1.0]])
    np.testing.assert_array_equal(y, [[-0.5], [-0.5]])
    dx = layer.backward([[1.0], [2.0]])
    np.testing.assert_array_equal(dx, [[2.0, -1.0], [4.0, -2.0]])
    np.testing.assert_array_equal(layer.grads["weight"], [[1.0, 5.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [3.0])


def test_linear_accumulates_gradients_and_zero_grad_resets_in_place(rng):
    layer = Linear(4, 3, rng=0)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.forward(x)
    dx1 = layer.backward(g)
    once = {k: v.copy() for k, v in layer.grads.items()}
    dx2 = layer.backward(g)
    np.testing.assert_array_equal(dx1, dx2)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k], rtol=1e-15)
    held = layer.gradients()  # an optimizer keeps these references
    layer.zero_grad()
    assert all(np.all(gr == 0) for gr in layer.grads.values())
    assert all(a is b for a, b in zip(held, layer.gradients()))
    assert [p is layer.params[k] for k, p in zip(("weight", "bias"), layer.parameters())] == [True, True]


def test_linear_init_is_seeded_and_bounded():
    a, b, c = Linear(16, 8, rng=3), Linear(16, 8, rng=3), Linear(16, 8, rng=4)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert not np.array_equal(a.weight, c.weight)
    assert np.all(np.abs(a.weight) <= 0.25) and np.all(np.abs(a.bias) <= 0.25)
    assert a.weight.shape == (8, 16) and a.bias.shape == (8,)
    assert Linear(3, 2, bias=False).bias is None
    assert "weight(8, 16)" in repr(a)


def test_load_torch_copies_values_not_references(torch):
    layer, tl = _pair(torch, 3, 2, True)
    with torch.no_grad():
        tl.weight.add_(1.0)
    assert not np.allclose(layer.weight, tl.weight.detach().numpy())


# -- errors --------------------------------------------------------------------------------
def _after_forward(layer, x):
    layer.forward(x)
    return layer


LINEAR_ERRORS = [
    ("wrong_width", lambda t: Linear(3, 2).forward(np.ones((4, 5))), ValueError, r"\(\*, 3\).*got \(4, 5\)"),
    ("scalar_input", lambda t: Linear(3, 2).forward(1.0), ValueError, r"\(\*, 3\)"),
    ("str_input", lambda t: Linear(3, 2).forward("abc"), TypeError, r"^x must"),
    ("backward_before_forward", lambda t: Linear(3, 2).backward(np.ones((1, 2))), RuntimeError,
     r"before forward"),
    ("wrong_grad_out_shape", lambda t: _after_forward(Linear(3, 2), np.ones((4, 3))).backward(np.ones((4, 3))),
     ValueError, r"grad_out must have the output's shape \(4, 2\), got \(4, 3\)"),
    ("grad_out_batch_mismatch", lambda t: _after_forward(Linear(3, 2), np.ones((4, 3))).backward(np.ones((5, 2))),
     ValueError, r"grad_out"),
    ("in_features_zero", lambda t: Linear(0, 2), ValueError, r"^in_features must be >= 1"),
    ("in_features_float", lambda t: Linear(2.5, 2), TypeError, r"^in_features must be an integer"),
    ("out_features_negative", lambda t: Linear(3, -1), ValueError, r"^out_features"),
    ("rng_str", lambda t: Linear(3, 2, rng="seed"), TypeError, r"^rng"),
    ("load_wrong_in", lambda t: Linear(3, 2).load_torch(t.nn.Linear(4, 2)), ValueError,
     r"'weight' must have shape \(2, 3\).*\(2, 4\)"),
    ("load_wrong_out", lambda t: Linear(3, 2).load_torch(t.nn.Linear(3, 5)), ValueError, r"'weight'"),
    ("load_missing_bias", lambda t: Linear(3, 2).load_torch(t.nn.Linear(3, 2, bias=False)), ValueError,
     r"no parameter 'bias'"),
    ("load_extra_bias", lambda t: Linear(3, 2, bias=False).load_torch(t.nn.Linear(3, 2)), ValueError,
     r"no bias"),
    ("load_non_linear", lambda t: Linear(3, 2).load_torch(t.nn.ReLU()), ValueError, r"no parameter 'weight'"),
]


@pytest.mark.parametrize("name, call, exc, match", LINEAR_ERRORS, ids=[e[0] for e in LINEAR_ERRORS])
def test_linear_errors(torch, name, call, exc, match):
    with pytest.raises(exc, match=match):
        call(torch)


def test_failed_load_torch_leaves_the_layer_unchanged(torch):
    layer = Linear(3, 2, rng=0)
    before = layer.weight.copy()
    with pytest.raises(ValueError):
        layer.load_torch(torch.nn.Linear(3, 2, bias=False))
    np.testing.assert_array_equal(layer.weight, before)


# -- Activation layers and Sequential ------------------------------------------------------
def _torch_act(torch, name):
    nn = torch.nn
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "softplus": nn.Softplus,
            "leaky_relu": nn.LeakyReLU, "linear": nn.Identity}[name]()


# a spec is a list of (in, out) for Linear layers and names for activations
SEQ_CASES = [
    ("mlp_tanh", [(4, 8), "tanh", (8, 3)], (5, 4)),
    ("mlp_relu_sigmoid", [(4, 6), "relu", (6, 5), "sigmoid", (5, 2)], (7, 4)),
    ("every_activation", [(3, 4), "elu", (4, 4), "softplus", (4, 4), "leaky_relu", (4, 4), "linear", (4, 2)],
     (6, 3)),
    ("sequence_input", [(3, 5), "tanh", (5, 2)], (2, 4, 3)),
    ("single_linear", [(3, 3)], (2, 3)),
]


def _build(torch, spec, seed=0):
    torch.manual_seed(seed)
    ours = [Linear(*s, rng=0) if isinstance(s, tuple) else Activation(s) for s in spec]
    theirs = [torch.nn.Linear(*s) if isinstance(s, tuple) else _torch_act(torch, s) for s in spec]
    seq, tseq = Sequential(*ours), torch.nn.Sequential(*theirs)
    seq.load_torch(tseq)
    return seq, tseq


@pytest.mark.parametrize("name, spec, shape", SEQ_CASES, ids=[c[0] for c in SEQ_CASES])
def test_sequential_matches_torch(torch, rng, name, spec, shape):
    seq, tseq = _build(torch, spec)
    x = rng.normal(size=shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = tseq(xt)
    g = rng.normal(size=yt.shape)
    yt.backward(torch.tensor(g))

    np.testing.assert_allclose(seq.forward(x), yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(seq.backward(g), xt.grad.numpy(), **TOL)
    tgrads = [p.grad.numpy() for p in tseq.parameters()]
    assert len(seq.gradients()) == len(tgrads) == len(seq.parameters())
    for ours, theirs in zip(seq.gradients(), tgrads):
        np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("name, spec, shape", SEQ_CASES[:3], ids=[c[0] for c in SEQ_CASES[:3]])
def test_sequential_input_grad_matches_finite_differences(torch, rng, name, spec, shape):
    seq, _ = _build(torch, spec)
    x = rng.normal(size=shape)
    g = rng.normal(size=seq.forward(x).shape)
    dx = seq.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(seq.forward, x, g), **FD_TOL)


def test_sequential_zero_grad_len_getitem_and_helpers(torch, rng):
    seq, _ = _build(torch, [(4, 8), "tanh", (8, 3)])
    seq.forward(rng.normal(size=(2, 4)))
    seq.backward(np.ones((2, 3)))
    assert any(np.any(g != 0) for g in seq.gradients())
    seq.zero_grad()
    assert all(np.all(g == 0) for g in seq.gradients())
    assert len(seq) == 3 and isinstance(seq[1], Activation) and seq[1].name == "tanh"
    assert [a.name for a in (ReLU(), Sigmoid(), Tanh())] == ["relu", "sigmoid", "tanh"]
    assert seq.eval() is seq and not seq.training and not seq[0].training
    assert "(1): Activation('tanh')" in repr(seq)


def test_activation_layer_matches_functions(rng):
    from dlcourse import activations as A

    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer = Activation("sigmoid")
    np.testing.assert_array_equal(layer(x), A.sigmoid(x))
    np.testing.assert_array_equal(layer.backward(g), g * A.sigmoid_derivative(x))
    assert layer.params == {} and layer.parameters() == []


SEQ_ERRORS = [
    ("activation_unknown", lambda t: Activation("nope"), ValueError, r"nope"),
    ("activation_backward_before_forward", lambda t: Activation("relu").backward(np.ones(3)), RuntimeError,
     r"before forward"),
    ("activation_grad_shape", lambda t: _after_forward(Activation("relu"), np.ones(3)).backward(np.ones(4)),
     ValueError, r"grad_out must have the input's shape \(3,\)"),
    ("sequential_non_module", lambda t: Sequential(Linear(2, 2), "relu"), TypeError, r"layer 1"),
    ("sequential_wrong_width", lambda t: Sequential(Linear(2, 3), Linear(4, 1)).forward(np.ones((1, 2))),
     ValueError, r"\(\*, 4\)"),
    ("sequential_load_length", lambda t: Sequential(Linear(2, 2)).load_torch(
        t.nn.Sequential(t.nn.Linear(2, 2), t.nn.ReLU())), ValueError, r"1 layers, got 2 layers"),
    ("sequential_load_non_sequential", lambda t: Sequential(Linear(2, 2)).load_torch(t.nn.Linear(2, 2)),
     ValueError, r"torch Sequential"),
    ("sequential_load_wrong_shape", lambda t: Sequential(Linear(2, 2)).load_torch(
        t.nn.Sequential(t.nn.Linear(3, 2))), ValueError, r"'weight' must have shape"),
]


@pytest.mark.parametrize("name, call, exc, match", SEQ_ERRORS, ids=[e[0] for e in SEQ_ERRORS])
def test_activation_and_sequential_errors(torch, name, call, exc, match):
    with pytest.raises(exc, match=match):
        call(torch)
