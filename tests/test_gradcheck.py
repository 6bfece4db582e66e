"""Tests for dlcourse.checks.gradcheck: relative error, central differences, gradcheck."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlcourse.checks as checks
from dlcourse.checks import gradcheck, numerical_gradient, numerical_jacobian_vector, rel_error

pytestmark = pytest.mark.unit1


# -- rel_error -----------------------------------------------------------------------------
REL_ERROR_CASES = [
    ("identical", [1.0, -2.0, 3.0], [1.0, -2.0, 3.0], 0.0),
    ("both_zero", [0.0, 0.0], [0.0, 0.0], 0.0),
    ("empty", np.zeros((0, 3)), np.zeros((0, 3)), 0.0),
    ("one_and_three", [1.0], [3.0], 0.5),
    ("opposite_signs", [2.0], [-2.0], 1.0),
    ("largest_wins", [1.0, 10.0], [1.0, 11.0], 1.0 / 21.0),
    ("scalars", 4.0, 5.0, 1.0 / 9.0),
    ("tiny_vs_zero_uses_eps", [1e-13], [0.0], 1e-13 / 1e-12),
]


@pytest.mark.parametrize("name, x, y, expected", REL_ERROR_CASES, ids=[c[0] for c in REL_ERROR_CASES])
def test_rel_error_hand_computed(name, x, y, expected):
    assert rel_error(x, y) == pytest.approx(expected, rel=1e-12, abs=0)
    assert rel_error(y, x) == pytest.approx(expected, rel=1e-12, abs=0)


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.float64, 5, elements=st.floats(-1e6, 1e6)),
       y=hnp.arrays(np.float64, 5, elements=st.floats(-1e6, 1e6)))
def test_rel_error_is_symmetric_and_in_unit_interval(x, y):
    e = rel_error(x, y)
    assert 0.0 <= e <= 1.0 and e == rel_error(y, x)


# -- numerical_gradient and numerical_jacobian_vector --------------------------------------
def test_numerical_gradient_is_exact_for_quadratics(rng):
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    num = numerical_gradient(lambda z: z @ A @ z, x)
    np.testing.assert_allclose(num, (A + A.T) @ x, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_is_central_not_forward():
    # for f(x) = x^3 the central difference is 3x^2 + h^2 exactly; a forward one would be off by ~3xh
    x = np.array([[0.5, -1.0, 2.0]])
    h = 1e-3
    num = numerical_gradient(lambda z: float(np.sum(z ** 3)), x, h=h)
    np.testing.assert_allclose(num, 3 * x ** 2 + h ** 2, rtol=1e-9)


def test_numerical_gradient_shapes_and_no_side_effects():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    seen = []
    num = numerical_gradient(lambda z: (seen.append(z.shape), float(np.sum(np.sin(z))))[1], x)
    np.testing.assert_array_equal(x, before)
    assert num.shape == x.shape and set(seen) == {(2, 3)}
    np.testing.assert_allclose(num, np.cos(x), rtol=1e-8, atol=1e-10)
    assert numerical_gradient(lambda z: float(z) ** 2, 3.0).shape == ()
    assert float(numerical_gradient(lambda z: float(z) ** 2, 3.0)) == pytest.approx(6.0, rel=1e-9)
    np.testing.assert_allclose(numerical_gradient(lambda z: float(np.sum(z)), [1, 2]), [1.0, 1.0])


def test_numerical_jacobian_vector_is_a_transposed_jacobian(rng):
    A = rng.normal(size=(3, 4))
    x, v = rng.normal(size=4), rng.normal(size=3)
    np.testing.assert_allclose(numerical_jacobian_vector(lambda z: A @ z, x, v), A.T @ v, rtol=1e-8, atol=1e-10)
    X, V = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    np.testing.assert_allclose(numerical_jacobian_vector(np.tanh, X, V), V * (1 - np.tanh(X) ** 2),
                               rtol=1e-7, atol=1e-10)


# -- gradcheck -----------------------------------------------------------------------------
def _cubic(z):
    return float(np.sum(z ** 3))


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def test_gradcheck_passes_on_a_correct_gradient():
    err = gradcheck(_cubic, X, 3 * X ** 2)
    assert 0.0 <= err < 1e-8


def test_gradcheck_names_index_expected_and_received():
    wrong = 3 * X ** 2
    wrong[1, 2] += 1.0
    expected = 3 * X[1, 2] ** 2
    pattern = (rf"gradient of weight is wrong at index \(1, 2\): expected {re.escape(f'{expected:.8g}')}.*"
               rf"got {re.escape(f'{wrong[1, 2]:.8g}')}")
    with pytest.raises(AssertionError, match=pattern):
        gradcheck(_cubic, X, wrong, name="weight")


def test_gradcheck_reports_the_worst_element():
    wrong = 3 * X ** 2
    wrong[0, 0] *= 1.001
    wrong[1, 1] *= -1.0
    with pytest.raises(AssertionError, match=r"index \(1, 1\)"):
        gradcheck(_cubic, X, wrong)


def test_gradcheck_tolerance_is_respected():
    slightly = 3 * X ** 2 * (1 + 1e-5)
    with pytest.raises(AssertionError):
        gradcheck(_cubic, X, slightly)
    assert gradcheck(_cubic, X, slightly, tol=1e-4) < 1e-4


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf / inf
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_gradcheck_rejects_non_finite_gradients(bad):
    analytic = 3 * X ** 2
    analytic[0, 1] = bad
    with pytest.raises(AssertionError, match=r"index \(0, 1\)"):
        gradcheck(_cubic, X, analytic)


# -- bad input -----------------------------------------------------------------------------
BAD_INPUT = [
    ("rel_error_shapes", lambda: rel_error(np.ones(3), np.ones(4)), ValueError, r"same shape.*\(3,\).*\(4,\)"),
    ("rel_error_str", lambda: rel_error("abc", np.ones(3)), TypeError, r"^x must"),
    ("rel_error_y_none", lambda: rel_error(np.ones(3), None), TypeError, r"^y must"),
    ("numerical_h_zero", lambda: numerical_gradient(_cubic, X, h=0.0), ValueError, r"^h must"),
    ("numerical_h_negative", lambda: numerical_gradient(_cubic, X, h=-1e-5), ValueError, r"^h must"),
    ("numerical_x_str", lambda: numerical_gradient(_cubic, "x"), TypeError, r"^x must"),
    ("jvp_v_shape", lambda: numerical_jacobian_vector(np.tanh, np.ones((2, 3)), np.ones(3)), ValueError,
     r"^v must have the shape of f\(x\) \(2, 3\)"),
    ("jvp_v_str", lambda: numerical_jacobian_vector(np.tanh, np.ones(3), "v"), TypeError, r"^v must"),
    ("gradcheck_shape", lambda: gradcheck(_cubic, X, np.ones(6), name="bias"), ValueError,
     r"gradient of bias must have shape \(2, 3\), got \(6,\)"),
    ("gradcheck_analytic_str", lambda: gradcheck(_cubic, X, "grad"), TypeError, r"^analytic must"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_raises(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_public_names():
    for name in ("gradcheck", "numerical_gradient", "numerical_jacobian_vector", "rel_error"):
        assert name in checks.__all__ and callable(getattr(checks, name))
