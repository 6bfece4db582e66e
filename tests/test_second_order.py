"""Second-order and quasi-Newton methods (Unit 3): the facts the course states about them."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.landscapes import LANDSCAPES, rosenbrock, saddle
from dlcourse.optim import bfgs, conjugate_gradient, lbfgs, newton

pytestmark = pytest.mark.unit3


def _quadratic(n: int, seed: int = 0):
    """f(x) = x^T Q x / 2 - b^T x with Q positive definite; returns f, grad, hess and the minimiser."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q, b = A @ A.T + n * np.eye(n), rng.normal(size=n)
    return (lambda x: 0.5 * x @ Q @ x - b @ x), (lambda x: Q @ x - b), (lambda x: Q), np.linalg.solve(Q, b)


@pytest.mark.parametrize("n", [2, 5, 10])
def test_newton_solves_a_quadratic_in_one_step(n):
    f, g, H, x_star = _quadratic(n)
    path = newton(f, g, H, np.ones(n), steps=5)
    np.testing.assert_allclose(path[1], x_star, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(path[0], np.ones(n))


@pytest.mark.parametrize("n", [5, 10])
def test_conjugate_gradient_reaches_the_minimum_in_n_steps(n):
    f, g, _, x_star = _quadratic(n, seed=n)
    path = conjugate_gradient(f, g, np.zeros(n), steps=n)
    assert len(path) <= n + 1
    np.testing.assert_allclose(path[-1], x_star, atol=1e-8)


def test_conjugate_gradient_on_an_ill_conditioned_quadratic():
    """Condition number 1e4, n = 10: round-off delays termination to about 1.5 n, as for linear CG."""
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    Q = U @ np.diag(np.logspace(0, 4, 10)) @ U.T
    b = rng.normal(size=10)
    x_star = np.linalg.solve(Q, b)
    path = conjugate_gradient(lambda x: 0.5 * x @ Q @ x - b @ x, lambda x: Q @ x - b, np.zeros(10), steps=16)
    np.testing.assert_allclose(path[-1], x_star, atol=1e-8 * np.abs(x_star).max())


@pytest.mark.parametrize("method", [bfgs, lbfgs, conjugate_gradient], ids=lambda m: m.__name__)
def test_reaches_rosenbrocks_minimum(method):
    path = method(rosenbrock.value, rosenbrock.grad, np.array([-1.2, 1.0]), steps=200)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-6)
    assert len(path) < 100  # far fewer steps than gradient descent's thousands


def test_newton_reaches_rosenbrocks_minimum():
    path = newton(rosenbrock.value, rosenbrock.grad, rosenbrock.hess, rosenbrock.start, steps=20)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("method", [bfgs, lbfgs, conjugate_gradient], ids=lambda m: m.__name__)
@pytest.mark.parametrize("name", ["beale", "himmelblau", "ill_conditioned_bowl", "booth", "matyas"])
def test_quasi_newton_reach_a_minimum_of_every_landscape(method, name):
    land = LANDSCAPES[name]
    path = method(land.value, land.grad, land.start, steps=300)
    assert land.distance_to_minimum(path[-1]) < 1e-6
    values = land.value(path)
    assert np.all(np.diff(values) <= 1e-12 * np.abs(values[:-1]) + 1e-300)  # descent methods


def test_newton_is_attracted_by_a_saddle():
    """Newton seeks stationary points: from anywhere, one step to the saddle of x^2 - y^2."""
    path = newton(saddle.value, saddle.grad, saddle.hess, np.array([0.7, -0.4]), steps=10)
    np.testing.assert_allclose(path[1], [0.0, 0.0], atol=1e-15)
    assert len(path) == 2  # stopped: the gradient is zero


def test_quasi_newton_escape_the_saddle():
    path = bfgs(saddle.value, saddle.grad, saddle.start, steps=50)
    assert saddle.value(path[-1]) < -1.0


def test_stops_early_without_repeating_rows():
    f, g, H, x_star = _quadratic(3)
    path = newton(f, g, H, x_star, steps=10)
    assert path.shape == (1, 3)  # already at the minimum
    for method in [bfgs, lbfgs, conjugate_gradient]:
        path = method(f, g, np.zeros(3), steps=100)
        assert len(path) < 30
        assert np.all(np.linalg.norm(np.diff(path, axis=0), axis=1) > 0)


def test_zero_steps_returns_the_start():
    for method in [bfgs, lbfgs, conjugate_gradient]:
        path = method(rosenbrock.value, rosenbrock.grad, [0.5, 0.5], steps=0)
        np.testing.assert_array_equal(path, [[0.5, 0.5]])


def test_lbfgs_matches_bfgs_while_both_use_the_same_initial_scaling():
    """After one pair, both scale H_0 by s^T y / y^T y of that pair: the same second step.

    Later BFGS keeps that first scaling while L-BFGS rescales with the newest pair.
    """
    a = bfgs(rosenbrock.value, rosenbrock.grad, rosenbrock.start, steps=2)
    b = lbfgs(rosenbrock.value, rosenbrock.grad, rosenbrock.start, steps=2, history=50)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_lbfgs_history_one_still_converges():
    path = lbfgs(rosenbrock.value, rosenbrock.grad, rosenbrock.start, steps=500, history=1)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: bfgs("f", rosenbrock.grad, [0.0, 0.0], 5), TypeError, "f must be a function"),
    (lambda: bfgs(rosenbrock.value, rosenbrock.grad, [[0.0, 0.0]], 5), ValueError, "x0 must be 1-D"),
    (lambda: bfgs(rosenbrock.value, rosenbrock.grad, [np.nan, 0.0], 5), ValueError, "x0 must be finite"),
    (lambda: lbfgs(rosenbrock.value, rosenbrock.grad, [0.0, 0.0], -1), ValueError, "steps must be >= 0"),
    (lambda: lbfgs(rosenbrock.value, rosenbrock.grad, [0.0, 0.0], 5, history=0), ValueError,
     "history must be >= 1"),
    (lambda: conjugate_gradient(rosenbrock.value, lambda x: np.zeros(3), [0.0, 0.0], 5), ValueError,
     r"grad\(x\) must have the shape of x"),
    (lambda: newton(rosenbrock.value, rosenbrock.grad, lambda x: np.eye(3), [0.0, 0.0], 5), ValueError,
     r"hess\(x\) must have shape \(2, 2\)"),
    (lambda: newton(rosenbrock.value, rosenbrock.grad, None, [0.0, 0.0], 5), TypeError,
     "hess must be a function"),
], ids=["f_not_callable", "x0_2d", "x0_nan", "negative_steps", "zero_history", "grad_shape", "hess_shape",
        "hess_missing"])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("method", ["newton", "conjugate_gradient", "bfgs", "lbfgs"])
def test_callback_sees_every_iterate_and_can_stop_the_run(method):
    r = rosenbrock
    fn = {"newton": newton, "conjugate_gradient": conjugate_gradient, "bfgs": bfgs, "lbfgs": lbfgs}[method]
    args = (r.value, r.grad, r.hess) if method == "newton" else (r.value, r.grad)
    full = fn(*args, r.start, 100)
    seen = []
    again = fn(*args, r.start, 100, callback=lambda x: seen.append(x.copy()))
    np.testing.assert_array_equal(again, full)
    np.testing.assert_array_equal(np.array(seen), full[1:])
    seen.clear()
    stopped = fn(*args, r.start, 100, callback=lambda x: (seen.append(x), len(seen) >= 3)[1])
    assert len(stopped) == 4
    np.testing.assert_array_equal(stopped, full[:4])
