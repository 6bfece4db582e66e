"""Tests for dlcourse.activations: torch parity, finite differences, properties, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlcourse import activations as A
from dlcourse.checks import numerical_gradient

pytestmark = pytest.mark.unit1

TOL = dict(rtol=1e-10, atol=1e-12)

# name, function, derivative (None: no registered derivative), keyword arguments, torch twin
CASES = [
    ("linear", A.linear, A.linear_derivative, {}, lambda F, t: t * 1.0),
    ("sigmoid", A.sigmoid, A.sigmoid_derivative, {}, lambda F, t: F.sigmoid(t)),
    ("tanh", A.tanh, A.tanh_derivative, {}, lambda F, t: F.tanh(t)),
    ("relu", A.relu, A.relu_derivative, {}, lambda F, t: F.relu(t)),
    ("leaky_relu", A.leaky_relu, A.leaky_relu_derivative, {}, lambda F, t: F.leaky_relu(t)),
    ("leaky_relu_0.2", A.leaky_relu, A.leaky_relu_derivative, {"negative_slope": 0.2},
     lambda F, t: F.leaky_relu(t, 0.2)),
    ("prelu", A.prelu, None, {}, lambda F, t: F.prelu(t, t.new_tensor([0.25]))),
    ("prelu_0.1", A.prelu, None, {"weight": 0.1}, lambda F, t: F.prelu(t, t.new_tensor([0.1]))),
    ("elu", A.elu, A.elu_derivative, {}, lambda F, t: F.elu(t)),
    ("elu_0.5", A.elu, A.elu_derivative, {"alpha": 0.5}, lambda F, t: F.elu(t, alpha=0.5)),
    ("softplus", A.softplus, A.softplus_derivative, {}, lambda F, t: F.softplus(t)),
    ("softplus_beta2_thr5", A.softplus, A.softplus_derivative, {"beta": 2.0, "threshold": 5.0},
     lambda F, t: F.softplus(t, beta=2.0, threshold=5.0)),
]
IDS = [c[0] for c in CASES]
WITH_DERIVATIVE = [c for c in CASES if c[2] is not None]


def _inputs(rng, shape=(6, 7)):
    """Random inputs plus far-out values, all away from the kinks at 0 and softplus' thresholds."""
    x = rng.normal(0.0, 3.0, shape)
    x.flat[:6] = [-30.0, -8.0, 8.0, 30.0, 1e-3, -1e-3]
    bad = (np.abs(x) < 1e-4) | (np.abs(x - 2.5) < 1e-3) | (np.abs(x - 20.0) < 1e-3)
    return np.where(bad, 0.5, x)


@pytest.mark.parametrize("name, f, df, kw, tf", CASES, ids=IDS)
def test_forward_matches_torch(torch, rng, name, f, df, kw, tf):
    x = _inputs(rng)
    y = f(x, **kw)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, tf(torch.nn.functional, torch.tensor(x)).numpy(), **TOL)


@pytest.mark.parametrize("name, f, df, kw, tf", WITH_DERIVATIVE, ids=[c[0] for c in WITH_DERIVATIVE])
def test_derivative_matches_torch_autograd(torch, rng, name, f, df, kw, tf):
    x = _inputs(rng)
    t = torch.tensor(x, requires_grad=True)
    tf(torch.nn.functional, t).sum().backward()
    np.testing.assert_allclose(df(x, **kw), t.grad.numpy(), **TOL)


@pytest.mark.parametrize("name, f, df, kw, tf", WITH_DERIVATIVE, ids=[c[0] for c in WITH_DERIVATIVE])
def test_derivative_matches_finite_differences(rng, name, f, df, kw, tf):
    x = _inputs(rng, shape=(3, 4))
    num = numerical_gradient(lambda z: float(np.sum(f(z, **kw))), x, h=1e-5)
    np.testing.assert_allclose(df(x, **kw), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, f, df, kw, tf", CASES, ids=IDS)
def test_scalars_and_lists_are_accepted(name, f, df, kw, tf):
    assert np.shape(f(0.7, **kw)) == ()
    np.testing.assert_array_equal(f([0.7, -1.3], **kw), f(np.array([0.7, -1.3]), **kw))
    x = np.array([0.7, -1.3])
    f(x, **kw)
    np.testing.assert_array_equal(x, [0.7, -1.3])  # input not modified


def test_registries_cover_the_same_names_and_are_tested():
    assert set(A.ACTIVATIONS) == set(A.DERIVATIVES)
    assert set(A.ACTIVATIONS) <= {c[0] for c in CASES}
    for name in A.ACTIVATIONS:
        assert A.get_activation(name) == (A.ACTIVATIONS[name], A.DERIVATIVES[name])


# -- hand-computed values ------------------------------------------------------------------
HAND = [
    (A.sigmoid, 0.0, 0.5), (A.sigmoid_derivative, 0.0, 0.25), (A.tanh_derivative, 0.0, 1.0),
    (A.relu, -2.0, 0.0), (A.relu_derivative, 0.0, 0.0), (A.leaky_relu, -2.0, -0.02),
    (A.elu, -np.log(2.0), -0.5), (A.elu_derivative, -np.log(2.0), 0.5), (A.softplus, 0.0, np.log(2.0)),
    (A.softplus_derivative, 0.0, 0.5), (A.prelu, -4.0, -1.0), (A.linear_derivative, 5.0, 1.0),
]


@pytest.mark.parametrize("fn, x, expected", HAND, ids=[f"{h[0].__name__}({h[1]:.3g})" for h in HAND])
def test_hand_computed_values(fn, x, expected):
    assert float(fn(x)) == pytest.approx(expected, rel=1e-15, abs=1e-15)


# -- softmax -------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_and_backward_match_torch(torch, rng, axis):
    x = rng.normal(0.0, 4.0, (3, 4, 5))
    g = rng.normal(size=x.shape)
    s = A.softmax(x, axis=axis)
    t = torch.tensor(x, requires_grad=True)
    ts = torch.softmax(t, dim=axis)
    ts.backward(torch.tensor(g))
    np.testing.assert_allclose(s, ts.detach().numpy(), **TOL)
    np.testing.assert_allclose(A.softmax_backward(g, s, axis=axis), t.grad.numpy(), **TOL)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_backward_matches_finite_differences(rng, axis):
    x = rng.normal(size=(3, 4))
    g = rng.normal(size=x.shape)
    num = numerical_gradient(lambda z: float(np.sum(A.softmax(z, axis=axis) * g)), x)
    np.testing.assert_allclose(A.softmax_backward(g, A.softmax(x, axis=axis), axis=axis), num,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_log_softmax_matches_torch_and_stays_finite(torch, rng, axis):
    x = rng.normal(0.0, 4.0, (3, 4, 5))
    np.testing.assert_allclose(A.log_softmax(x, axis=axis), torch.log_softmax(torch.tensor(x), dim=axis).numpy(), **TOL)
    far = A.log_softmax(np.array([0.0, -2000.0]))          # np.log(softmax) would give -inf here
    np.testing.assert_allclose(far, [0.0, -2000.0], rtol=1e-12)
    with pytest.raises(ValueError, match="at least one dimension"):
        A.log_softmax(1.0)


def test_softmax_hand_computed():
    np.testing.assert_allclose(A.softmax([0.0, np.log(3.0)]), [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(A.softmax([1e4, -1e4, 1e4]), [0.5, 0.0, 0.5], rtol=0, atol=0)


# -- hypothesis properties -----------------------------------------------------------------
def _no_warnings(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            return fn(*args, **kw)


big = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6),
                 elements=st.floats(-1e6, 1e6, allow_nan=False))
moderate = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6),
                      elements=st.floats(-30, 30, allow_nan=False))
logits = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                    elements=st.floats(-1e4, 1e4, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(x=big)
def test_sigmoid_is_a_probability_without_warnings(x):
    s = _no_warnings(A.sigmoid, x)
    assert not np.any(np.isnan(s)) and np.all((s >= 0) & (s <= 1))
    d = _no_warnings(A.sigmoid_derivative, x)
    assert np.all((d >= 0) & (d <= 0.25))


@settings(max_examples=60, deadline=None)
@given(x=moderate)
def test_sigmoid_strictly_inside_unit_interval_for_moderate_inputs(x):
    s = A.sigmoid(x)
    assert np.all((s > 0) & (s < 1))


def test_extremes_without_overflow():
    x = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(_no_warnings(A.sigmoid, x), [0.0, 1.0])
    np.testing.assert_array_equal(_no_warnings(A.sigmoid_derivative, x), [0.0, 0.0])
    np.testing.assert_array_equal(_no_warnings(A.tanh, x), [-1.0, 1.0])
    np.testing.assert_array_equal(_no_warnings(A.softplus, x), [0.0, 1000.0])
    np.testing.assert_array_equal(_no_warnings(A.softplus, x, beta=0.01), np.logaddexp(0, [-10, 10]) / 0.01)
    np.testing.assert_array_equal(_no_warnings(A.softplus_derivative, x), [0.0, 1.0])
    np.testing.assert_array_equal(_no_warnings(A.elu, x), [-1.0, 1000.0])
    np.testing.assert_array_equal(_no_warnings(A.elu_derivative, x), [0.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(x=big)
def test_tanh_is_a_rescaled_sigmoid(x):
    np.testing.assert_allclose(A.tanh(x), 2 * A.sigmoid(2 * x) - 1, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(x=big, beta=st.floats(0.1, 10.0))
def test_softplus_is_a_finite_smooth_relu(x, beta):
    sp = _no_warnings(A.softplus, x, beta=beta)
    r = A.relu(x)
    assert np.all(np.isfinite(sp))
    assert np.all(sp >= r - 1e-12 * (1 + np.abs(x)))
    assert np.all(sp - r <= np.log(2.0) / beta + 1e-12 * (1 + np.abs(x)))


@settings(max_examples=60, deadline=None)
@given(x=logits, shift=st.floats(-100, 100))
def test_softmax_is_a_distribution_without_nan(x, shift):
    s = _no_warnings(A.softmax, x, axis=-1)
    assert s.shape == x.shape and not np.any(np.isnan(s))
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(A.softmax(x + shift, axis=-1), s, rtol=0, atol=1e-9)


# -- bad input -----------------------------------------------------------------------------
X = np.array([0.5, -0.5])
BAD_INPUT = [
    ("sigmoid_str", A.sigmoid, ("abc",), {}, TypeError, r"^x must be an array of numbers"),
    ("sigmoid_none", A.sigmoid, (None,), {}, TypeError, r"^x must"),
    ("relu_list_of_str", A.relu, (["a", "b"],), {}, TypeError, r"^x must"),
    ("tanh_derivative_str", A.tanh_derivative, ("abc",), {}, TypeError, r"^x must"),
    ("softplus_beta_zero", A.softplus, (X,), {"beta": 0}, ValueError, r"^beta must be in \(0"),
    ("softplus_beta_negative", A.softplus, (X,), {"beta": -1.0}, ValueError, r"^beta"),
    ("softplus_derivative_beta_zero", A.softplus_derivative, (X,), {"beta": 0}, ValueError, r"^beta"),
    ("softplus_beta_str", A.softplus, (X,), {"beta": "1"}, TypeError, r"^beta must be a real number"),
    ("leaky_slope_str", A.leaky_relu, (X,), {"negative_slope": "a"}, TypeError, r"^negative_slope"),
    ("leaky_derivative_slope_nan", A.leaky_relu_derivative, (X,), {"negative_slope": np.nan},
     ValueError, r"^negative_slope must be finite"),
    ("elu_alpha_inf", A.elu, (X,), {"alpha": np.inf}, ValueError, r"^alpha must be finite"),
    ("prelu_weight_str", A.prelu, (X,), {"weight": "w"}, TypeError, r"must be a real number"),
    ("get_activation_unknown", A.get_activation, ("nope",), {}, ValueError, r"one of .*relu.*got 'nope'"),
    ("softmax_scalar", A.softmax, (3.0,), {}, ValueError, r"^x must have at least one dimension"),
    ("softmax_str", A.softmax, ("abc",), {}, TypeError, r"^x must"),
    ("softmax_backward_shapes", A.softmax_backward, (np.ones(3), np.ones(4)), {}, ValueError,
     r"grad_out and s must have the same shape"),
    ("softmax_backward_str", A.softmax_backward, ("g", np.ones(3)), {}, TypeError, r"^grad_out must"),
    ("softmax_backward_s_str", A.softmax_backward, (np.ones(3), "s"), {}, TypeError, r"^s must"),
]


@pytest.mark.parametrize("name, fn, args, kw, exc, match", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_raises(name, fn, args, kw, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)
