"""Weight initialisation (Unit 3): variances, fans as torch computes them, orthogonality."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.init import (INITIALIZERS, calculate_fan_in_and_fan_out, calculate_gain, get_initializer,
                           glorot_normal, glorot_uniform, he_normal, he_uniform, lecun_normal, normal,
                           orthogonal, uniform, zeros)

pytestmark = pytest.mark.unit3

SHAPES = [(512, 256), (256, 512), (64, 32, 3, 3)]

VARIANCE_CASES = [  # (initializer, expected variance given (fan_in, fan_out, gain), torch's equivalent)
    (glorot_uniform, lambda i, o, g: g * g * 2 / (i + o), lambda nn, w, g: nn.init.xavier_uniform_(w, gain=g)),
    (glorot_normal, lambda i, o, g: g * g * 2 / (i + o), lambda nn, w, g: nn.init.xavier_normal_(w, gain=g)),
    (he_uniform, lambda i, o, g: g * g * 2 / i,
     lambda nn, w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu").mul_(g)),
    (he_normal, lambda i, o, g: g * g * 2 / i,
     lambda nn, w, g: nn.init.kaiming_normal_(w, nonlinearity="relu").mul_(g)),
    (lecun_normal, lambda i, o, g: g * g / i,
     lambda nn, w, g: nn.init.kaiming_normal_(w, nonlinearity="linear").mul_(g)),
]
VARIANCE_MATRIX = [
    pytest.param(init, var, tinit, shape, gain, id=f"{init.__name__}-{'x'.join(map(str, shape))}-gain{gain:.3g}")
    for init, var, tinit in VARIANCE_CASES for shape in SHAPES for gain in [1.0, 5 / 3]
]


@pytest.mark.parametrize("init, variance, torch_init, shape, gain", VARIANCE_MATRIX)
def test_variance_follows_the_formula_and_torch(torch, init, variance, torch_init, shape, gain):
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    expected = variance(fan_in, fan_out, gain)
    w = init(shape, rng=0, gain=gain)
    assert w.shape == shape and w.dtype == np.float64
    assert w.mean() == pytest.approx(0.0, abs=4 * math.sqrt(expected / w.size))
    assert w.var() == pytest.approx(expected, rel=0.03)
    torch.manual_seed(0)
    tw = torch_init(torch.nn, torch.empty(shape), gain)
    assert tw.var().item() == pytest.approx(expected, rel=0.03)  # the same rule as torch's
    if "uniform" in init.__name__:  # U(-b, b) with b = sqrt(3 var)
        bound = math.sqrt(3 * expected)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


@pytest.mark.parametrize("shape", SHAPES + [(3, 5), (5, 3), (7, 7), (10, 2, 2)])
def test_fans_match_torch(torch, shape):
    assert calculate_fan_in_and_fan_out(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_receptive_field_multiplies_fans():
    assert calculate_fan_in_and_fan_out((64, 32, 3, 3)) == (32 * 9, 64 * 9)
    assert calculate_fan_in_and_fan_out((10, 20)) == (20, 10)


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                 ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                 ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(torch, nonlinearity, param):
    assert calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(256, 128), (128, 256), (64, 64), (16, 8, 3, 3), (4, 8, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(torch, shape, gain):
    w = orthogonal(shape, rng=1, gain=gain)
    assert w.shape == shape
    rows, cols = shape[0], math.prod(shape[1:])
    m = w.reshape(rows, cols) / gain
    gram = m.T @ m if rows >= cols else m @ m.T  # Q^T Q = I on the smaller side
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)
    torch.manual_seed(0)
    tm = torch.nn.init.orthogonal_(torch.empty(shape), gain=gain).reshape(rows, cols).numpy() / gain
    tgram = tm.T @ tm if rows >= cols else tm @ tm.T
    np.testing.assert_allclose(tgram, np.eye(min(rows, cols)), atol=1e-12)  # torch's rows/columns rule


def test_orthogonal_is_uniform_in_sign():
    """The sign correction makes Q Haar-distributed: diagonal entries average to zero."""
    diag = np.array([np.diag(orthogonal((8, 8), rng=s)) for s in range(400)])
    assert abs(diag.mean()) < 0.05


def test_zeros_normal_uniform_defaults():
    assert not zeros((3, 4)).any() and zeros(5).shape == (5,)
    w = normal((400, 500), rng=0)
    assert w.std() == pytest.approx(0.01, rel=0.02)
    assert normal((400, 500), rng=0, gain=3.0, mean=1.0).mean() == pytest.approx(1.0, abs=1e-3)
    u = uniform((400, 500), rng=0)
    assert np.abs(u).max() <= 0.05 and u.var() == pytest.approx(0.1 ** 2 / 12, rel=0.02)
    u = uniform((100,), rng=0, gain=2.0, a=0.0, b=1.0)
    assert u.min() >= 0.0 and u.max() <= 2.0


def test_seeds_are_reproducible():
    for name, init in INITIALIZERS.items():
        a, b = init((6, 5), rng=3), init((6, 5), rng=np.random.default_rng(3))
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert get_initializer(name) is init


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(INITIALIZERS)), st.integers(1, 20), st.integers(1, 20), st.floats(0.0, 10.0))
def test_any_shape_and_gain_gives_finite_values(name, fan_out, fan_in, gain):
    w = INITIALIZERS[name]((fan_out, fan_in), rng=0, gain=gain)
    assert w.shape == (fan_out, fan_in) and np.all(np.isfinite(w))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: glorot_uniform((10,)), ValueError, "at least 2 dimensions"),
    (lambda: he_normal(10), ValueError, "at least 2 dimensions"),
    (lambda: orthogonal((10,)), ValueError, "Only tensors with 2 or more dimensions are supported"),
    (lambda: glorot_normal((3.5, 2)), TypeError, "shape must be a tuple of non-negative ints"),
    (lambda: he_uniform((-1, 2)), TypeError, "shape must be a tuple of non-negative ints"),
    (lambda: lecun_normal((4, 4), gain=-1.0), ValueError, "gain must be in"),
    (lambda: normal((4, 4), std=-0.1), ValueError, "std must be in"),
    (lambda: uniform((4, 4), a=1.0, b=0.0), ValueError, "uniform needs a <= b"),
    (lambda: normal((4, 4), rng="seed"), TypeError, "rng must be None, an int seed"),
    (lambda: calculate_gain("swish"), ValueError, "Unsupported nonlinearity swish"),
    (lambda: get_initializer("xavier"), ValueError, "unknown initializer 'xavier'"),
], ids=["glorot_1d", "he_int_shape", "orthogonal_1d", "float_dim", "negative_dim", "negative_gain",
        "negative_std", "a_above_b", "bad_rng", "unknown_gain", "unknown_initializer"])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
