"""Dropout and BatchNorm1d: torch parity (train and eval), finite differences, statistics, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient, numerical_jacobian_vector, rel_error
from dlcourse.layers.batchnorm import BatchNorm1d
from dlcourse.layers.dropout import Dropout
from dlcourse.layers.linear import Linear
from dlcourse.layers.module import Sequential

pytestmark = pytest.mark.unit4

ATOL = 1e-12


# ------------------------------------------------------------------------------------ Dropout
DROPOUT_PS = [0.0, 0.1, 0.5, 0.9]


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 6)])
@pytest.mark.parametrize("p", DROPOUT_PS)
def test_dropout_train_matches_torch_with_torchs_mask(torch, rng, p, shape):
    x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)  # never 0, so 0 out <=> dropped
    g = rng.normal(size=shape)
    torch.manual_seed(0)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.dropout(tx, p=p, training=True)
    ty.backward(torch.tensor(g))
    mask = ty.detach().numpy() != 0.0
    layer = Dropout(p)
    np.testing.assert_allclose(layer.forward(x, mask=mask), ty.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), rtol=0, atol=ATOL)


@pytest.mark.parametrize("p", DROPOUT_PS)
def test_dropout_eval_is_identity_like_torch(torch, rng, p):
    x, g = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    tmod = torch.nn.Dropout(p).eval()
    tx = torch.tensor(x, requires_grad=True)
    ty = tmod(tx)
    ty.backward(torch.tensor(g))
    layer = Dropout(p, rng=0).eval()
    np.testing.assert_array_equal(layer.forward(x), ty.detach().numpy())
    np.testing.assert_array_equal(layer.backward(g), tx.grad.numpy())
    assert layer.train().training and not layer.eval().training


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_expected_activation_and_drops_fraction_p(p):
    x = np.ones((1000, 1000))
    out = Dropout(p, rng=0).forward(x)
    assert abs(out.mean() - 1.0) < 0.02
    assert abs(np.mean(out == 0.0) - p) < 0.01
    np.testing.assert_allclose(np.unique(out), [0.0, 1.0 / (1.0 - p)])


def test_dropout_backward_matches_finite_differences(rng):
    x, v = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    mask = rng.random((4, 5)) > 0.3
    layer = Dropout(0.3)
    layer.forward(x, mask=mask)
    numeric = numerical_jacobian_vector(lambda z: Dropout(0.3).forward(z, mask=mask), x, v)
    assert rel_error(layer.backward(v), numeric) < 1e-8


def test_dropout_masks_are_reproducible_from_a_seed_and_fresh_each_call(rng):
    x = rng.normal(size=(20, 20))
    a, b = Dropout(0.5, rng=3), Dropout(0.5, rng=3)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))


def test_dropout_hand_computed():
    layer = Dropout(0.5)
    out = layer.forward(np.array([[1.0, 2.0, 3.0, 4.0]]), mask=np.array([[1, 0, 1, 0]]))
    np.testing.assert_array_equal(out, [[2.0, 0.0, 6.0, 0.0]])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 4))), [[2.0, 0.0, 2.0, 0.0]])


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.0, 0.99), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**16))
def test_dropout_outputs_are_zero_or_rescaled_and_finite(p, scale, seed):
    x = np.random.default_rng(seed).normal(size=(5, 8)) * scale
    out = Dropout(p, rng=seed).forward(x)
    assert np.all(np.isfinite(out))
    kept = out != 0.0
    np.testing.assert_allclose(out[kept], x[kept] / (1.0 - p), rtol=1e-12)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_rejects_p_outside_0_1_with_torchs_message(p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        Dropout(p)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: Dropout("0.5"), TypeError, "dropout probability must be a real number"),
    (lambda: Dropout(True), TypeError, "dropout probability must be a real number"),
    (lambda: Dropout(0.5).forward(np.ones((2, 3)), mask=np.ones((3, 2))), ValueError,
     r"mask must have the input's shape \(2, 3\)"),
    (lambda: Dropout(0.5).forward(np.ones(3), mask=[1, 0.5, 0]), ValueError, "only 0 .* and 1"),
    (lambda: Dropout(0.5).backward(np.ones(3)), RuntimeError, "before forward"),
    (lambda: Dropout(0.5).forward("abc"), TypeError, "x must be an array of numbers"),
])
def test_dropout_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dropout_backward_rejects_wrong_shape():
    layer = Dropout(0.5, rng=0)
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(2, 3\), got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


# -------------------------------------------------------------------------------- BatchNorm1d
BN_CASES = [  # (input shape, momentum, affine)
    ((8, 4), 0.1, True),
    ((8, 4), None, True),
    ((5, 3), 0.5, False),
    ((2, 3), 0.1, True),
    ((4, 3, 6), 0.1, True),
    ((3, 2, 5), None, False),
]


def _torch_bn(torch, rng, C, momentum, affine):
    tmod = torch.nn.BatchNorm1d(C, momentum=momentum, affine=affine)
    if affine:
        with torch.no_grad():
            tmod.weight.copy_(torch.tensor(rng.normal(size=C)))
            tmod.bias.copy_(torch.tensor(rng.normal(size=C)))
    layer = BatchNorm1d(C, momentum=momentum, affine=affine)
    layer.load_torch(tmod)
    return tmod, layer


def _step_both(torch, tmod, layer, x, g):
    """One forward/backward through both; return (torch out, torch input grad, ours out, ours input grad)."""
    tx = torch.tensor(x, requires_grad=True)
    ty = tmod(tx)
    ty.backward(torch.tensor(g))
    return ty.detach().numpy(), tx.grad.numpy(), layer.forward(x), layer.backward(g)


def _assert_state_equal(tmod, layer):
    np.testing.assert_allclose(layer.running_mean, tmod.running_mean.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(layer.running_var, tmod.running_var.numpy(), rtol=0, atol=ATOL)
    assert layer.num_batches_tracked == int(tmod.num_batches_tracked)
    if layer.affine:
        np.testing.assert_allclose(layer.grads["weight"], tmod.weight.grad.numpy(), rtol=0, atol=1e-11)
        np.testing.assert_allclose(layer.grads["bias"], tmod.bias.grad.numpy(), rtol=0, atol=1e-11)


@pytest.mark.parametrize("shape, momentum, affine", BN_CASES)
def test_batchnorm_train_steps_match_torch(torch, rng, shape, momentum, affine):
    tmod, layer = _torch_bn(torch, rng, shape[1], momentum, affine)
    for _ in range(4):  # gradients accumulate over the steps in both
        x, g = rng.normal(2.0, 3.0, shape), rng.normal(size=shape)
        t_out, t_gin, out, gin = _step_both(torch, tmod, layer, x, g)
        np.testing.assert_allclose(out, t_out, rtol=0, atol=ATOL)
        np.testing.assert_allclose(gin, t_gin, rtol=0, atol=ATOL)
    _assert_state_equal(tmod, layer)


@pytest.mark.parametrize("shape, momentum, affine", BN_CASES)
def test_batchnorm_eval_after_training_matches_torch(torch, rng, shape, momentum, affine):
    tmod, layer = _torch_bn(torch, rng, shape[1], momentum, affine)
    for _ in range(3):
        x = rng.normal(-1.0, 2.0, shape)
        tmod(torch.tensor(x))
        layer.forward(x)
    tmod.eval()
    layer.eval()
    x, g = rng.normal(size=(1,) + shape[1:]), rng.normal(size=(1,) + shape[1:])  # batch of 1 is fine in eval
    t_out, t_gin, out, gin = _step_both(torch, tmod, layer, x, g)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=ATOL)
    np.testing.assert_allclose(gin, t_gin, rtol=0, atol=ATOL)
    _assert_state_equal(tmod, layer)


def test_batchnorm_without_running_stats_matches_torch_in_eval(torch, rng):
    tmod = torch.nn.BatchNorm1d(3, track_running_stats=False).eval()
    layer = BatchNorm1d(3, track_running_stats=False).eval()
    x, g = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    t_out, t_gin, out, gin = _step_both(torch, tmod, layer, x, g)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=ATOL)
    np.testing.assert_allclose(gin, t_gin, rtol=0, atol=ATOL)
    assert layer.running_mean is None and layer.running_var is None


def test_batchnorm_load_torch_copies_weights_and_running_stats(torch, rng):
    tmod = torch.nn.BatchNorm1d(4)
    for _ in range(3):
        tmod(torch.tensor(rng.normal(3.0, 2.0, (10, 4))))
    with torch.no_grad():
        tmod.weight.copy_(torch.tensor(rng.normal(size=4)))
    layer = BatchNorm1d(4)
    layer.load_torch(tmod)
    np.testing.assert_array_equal(layer.weight, tmod.weight.detach().numpy())
    np.testing.assert_array_equal(layer.running_mean, tmod.running_mean.numpy())
    np.testing.assert_array_equal(layer.running_var, tmod.running_var.numpy())
    assert layer.num_batches_tracked == 3


def test_batchnorm_load_torch_refuses_a_mismatch_and_copies_nothing(torch):
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match="no running_mean"):
        layer.load_torch(torch.nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        layer.load_torch(torch.nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="no parameter 'weight'"):
        layer.load_torch(torch.nn.BatchNorm1d(3, affine=False))
    np.testing.assert_array_equal(layer.weight, np.ones(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))


def test_batchnorm_inside_sequential_matches_torch(torch, rng):
    tnet = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4))
    net = Sequential(Linear(5, 4), BatchNorm1d(4))
    net.load_torch(tnet)
    x, g = rng.normal(size=(7, 5)), rng.normal(size=(7, 4))
    tx = torch.tensor(x, requires_grad=True)
    tnet(tx).backward(torch.tensor(g))
    net.forward(x)
    np.testing.assert_allclose(net.backward(g), tx.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(net[0].grads["weight"], tnet[0].weight.grad.numpy(), rtol=0, atol=1e-11)


def test_batchnorm_hand_computed_one_channel():
    layer = BatchNorm1d(1, eps=0.0)
    out = layer.forward(np.array([[1.0], [3.0]]))  # mean 2, biased var 1, unbiased var 2
    np.testing.assert_allclose(out, [[-1.0], [1.0]])
    np.testing.assert_allclose(layer.running_mean, [0.9 * 0 + 0.1 * 2])
    np.testing.assert_allclose(layer.running_var, [0.9 * 1 + 0.1 * 2])


@pytest.mark.parametrize("shape, training", [((6, 3), True), ((3, 2, 4), True), ((6, 3), False)])
def test_batchnorm_gradients_match_finite_differences(rng, shape, training):
    C = shape[1]
    layer = BatchNorm1d(C, affine=True)
    layer.params["weight"][...] = rng.normal(size=C)
    layer.params["bias"][...] = rng.normal(size=C)
    layer.running_mean[...], layer.running_var[...] = rng.normal(size=C), rng.uniform(0.5, 2.0, C)
    layer.train(training)
    x, v = rng.normal(size=shape), rng.normal(size=shape)
    layer.forward(x)
    grad_x = layer.backward(v)

    def loss_of(name):
        def f(value):
            saved = layer.params[name].copy()
            layer.params[name][...] = value
            out = float(np.sum(layer.forward(x) * v))
            layer.params[name][...] = saved
            return out
        return f

    assert rel_error(grad_x, numerical_jacobian_vector(layer.forward, x, v)) < 1e-6
    for name in ("weight", "bias"):
        assert rel_error(layer.grads[name], numerical_gradient(loss_of(name), layer.params[name])) < 1e-7


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 20), shift=st.floats(-1e3, 1e3), scale=st.floats(1e-2, 1e3), seed=st.integers(0, 2**16))
def test_batchnorm_train_output_has_zero_mean_unit_variance(n, shift, scale, seed):
    x = shift + scale * np.random.default_rng(seed).normal(size=(n, 3))
    out = BatchNorm1d(3, eps=0.0).forward(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-6)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: BatchNorm1d(0), ValueError, "num_features must be >= 1"),
    (lambda: BatchNorm1d(3, momentum=1.5), ValueError, "momentum must be <= 1"),
    (lambda: BatchNorm1d(3, eps=-1e-5), ValueError, "eps must be in"),
    (lambda: BatchNorm1d(3).forward(np.ones((4, 2))), ValueError, r"3 channels in dimension 1 .* got shape \(4, 2\)"),
    (lambda: BatchNorm1d(3).forward(np.ones((2, 3, 4, 5))), ValueError, r"2-D \(N, C\) or 3-D \(N, C, L\)"),
    (lambda: BatchNorm1d(3).forward(np.ones((1, 3))), ValueError, "more than 1 value per channel"),
    (lambda: BatchNorm1d(3).backward(np.ones((2, 3))), RuntimeError, "before forward"),
])
def test_batchnorm_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_batchnorm_backward_rejects_wrong_shape():
    layer = BatchNorm1d(3)
    layer.forward(np.random.default_rng(0).normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(4, 3\), got \(3, 4\)"):
        layer.backward(np.ones((3, 4)))
