"""Landscapes for the optimizer race (Unit 3): derivatives vs finite differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient
from dlcourse.landscapes import (LANDSCAPES, IllConditionedBowl, Landscape, Rosenbrock, get_landscape,
                                 himmelblau, noisy, rosenbrock, saddle)

pytestmark = pytest.mark.unit3

ALL = dict(LANDSCAPES, rotated_bowl=IllConditionedBowl(condition_number=30.0, angle=0.7),
           rosenbrock_a2=Rosenbrock(a=2.0, b=10.0))
IDS = sorted(ALL)


def _points(land: Landscape, n: int = 6, seed: int = 0) -> np.ndarray:
    """The start and a few random points inside the plotting box."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array([land.xlim[0], land.ylim[0]]), np.array([land.xlim[1], land.ylim[1]])
    return np.vstack([land.start, lo + (hi - lo) * rng.random((n, 2))])


@pytest.mark.parametrize("name", IDS)
def test_gradient_matches_finite_differences(name):
    land = ALL[name]
    for x in _points(land):
        num = numerical_gradient(land.value, x)
        np.testing.assert_allclose(land.grad(x), num, rtol=1e-6, atol=1e-5 * (1 + np.abs(num).max()))


@pytest.mark.parametrize("name", IDS)
def test_hessian_matches_finite_differences_of_the_gradient(name):
    land = ALL[name]
    for x in _points(land):
        num = np.stack([numerical_gradient(lambda z: land.grad(z)[i], x) for i in range(2)])
        np.testing.assert_allclose(land.hess(x), num, rtol=1e-6, atol=1e-5 * (1 + np.abs(num).max()))
        np.testing.assert_array_equal(land.hess(x), land.hess(x).T)


@pytest.mark.parametrize("name", IDS)
def test_derivatives_match_torch_autograd(torch, name):
    land = ALL[name]
    for x in _points(land, seed=1):
        t = torch.tensor(x, requires_grad=True)
        value = land.formula(t[0], t[1])
        (grad,) = torch.autograd.grad(value, t)
        hess = torch.autograd.functional.hessian(lambda z: land.formula(z[0], z[1]), torch.tensor(x))
        assert land.value(x) == pytest.approx(value.item(), rel=1e-14, abs=1e-14)
        np.testing.assert_allclose(land.grad(x), grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(land.hess(x), hess.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", IDS)
def test_known_minima_are_minima(name):
    land = ALL[name]
    if name == "saddle":
        assert land.minima.shape == (0, 2) and land.min_value == -np.inf
        return
    for m in land.minima:
        assert land.value(m) == pytest.approx(land.min_value, abs=1e-12)
        np.testing.assert_allclose(land.grad(m), 0.0, atol=1e-11)
        assert np.all(np.linalg.eigvalsh(land.hess(m)) > 0)
        assert land.distance_to_minimum(m) == pytest.approx(0.0, abs=1e-15)
    assert land.value(land.start) > land.min_value


def test_hand_computed_values():
    assert rosenbrock.value([-1.2, 1.0]) == pytest.approx(24.2)
    np.testing.assert_allclose(rosenbrock.grad(np.array([-1.2, 1.0])), [-215.6, -88.0])
    np.testing.assert_allclose(rosenbrock.hess([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    assert np.linalg.cond(rosenbrock.hess([1.0, 1.0])) == pytest.approx(2508, rel=1e-3)
    assert himmelblau.value([3.0, 2.0]) == 0.0
    np.testing.assert_allclose(saddle.hess([0.3, 0.1]), [[2.0, 0.0], [0.0, -2.0]])
    bowl = IllConditionedBowl(condition_number=100.0, angle=0.3)
    assert np.linalg.cond(bowl.hess([1.0, 2.0])) == pytest.approx(100.0)


@pytest.mark.parametrize("name", IDS)
def test_vectorised_evaluation(name):
    land = ALL[name]
    X, Y, Z = land.grid(7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    pts = np.stack([X, Y], axis=-1)
    np.testing.assert_allclose(land.value(pts), Z, rtol=1e-14)
    np.testing.assert_allclose(land.value(X[0], Y[:, :1]), Z, rtol=1e-14)  # broadcasting
    G, H = land.grad(pts), land.hess(pts)
    assert G.shape == (7, 7, 2) and H.shape == (7, 7, 2, 2)
    np.testing.assert_allclose(G[3, 4], land.grad(pts[3, 4]), rtol=1e-14)
    np.testing.assert_allclose(H[2, 5], land.hess(pts[2, 5]), rtol=1e-14)
    assert isinstance(land.value(pts[0, 0]), float)
    assert land.value(pts[0, 0]) == pytest.approx(land(pts[0, 0]))


def test_registry_and_metadata():
    assert {"rosenbrock", "beale", "himmelblau", "saddle", "ill_conditioned_bowl"} <= set(LANDSCAPES)
    for name, land in LANDSCAPES.items():
        assert land.name == name and get_landscape(name) is land
        assert land.start.shape == (2,) and land.minima.ndim == 2 and land.minima.shape[1] == 2
        assert land.xlim[0] <= land.start[0] <= land.xlim[1] and land.ylim[0] <= land.start[1] <= land.ylim[1]
        for m in land.minima:
            assert land.xlim[0] <= m[0] <= land.xlim[1] and land.ylim[0] <= m[1] <= land.ylim[1]
    assert len(LANDSCAPES["himmelblau"].minima) == 4


def test_noisy_landscape():
    a, b = noisy(rosenbrock, sigma=2.0, rng=7), noisy(rosenbrock, sigma=2.0, rng=7)
    x = np.array([0.5, 0.5])
    g1 = [a.grad(x) for _ in range(3)]
    np.testing.assert_array_equal(g1, [b.grad(x) for _ in range(3)])  # seeded
    assert not np.array_equal(g1[0], g1[1])  # fresh noise each call
    a.reset()
    np.testing.assert_array_equal(a.grad(x), g1[0])  # reset restarts the noise
    assert a.value(x) == rosenbrock.value(x) and a.name == "noisy_rosenbrock"
    np.testing.assert_array_equal(a.hess(x), rosenbrock.hess(x))
    noise = np.array([a.grad(x) for _ in range(4000)]) - rosenbrock.grad(x)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=0.15)
    np.testing.assert_allclose(noise.std(axis=0), 2.0, rtol=0.05)
    np.testing.assert_array_equal(noisy(rosenbrock, sigma=0.0).grad(x), rosenbrock.grad(x))


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(IDS), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_no_nan_for_moderate_points(name, x, y):
    land = ALL[name]
    p = np.array([x, y])
    assert np.isfinite(land.value(p)) and np.all(np.isfinite(land.grad(p))) and np.all(np.isfinite(land.hess(p)))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: rosenbrock.value([1.0, 2.0, 3.0]), ValueError, r"x must have shape \(\.\.\., 2\)"),
    (lambda: rosenbrock.grad(3.0), ValueError, r"x must have shape \(\.\.\., 2\)"),
    (lambda: rosenbrock.grad("a"), TypeError, "x must be an array of numbers"),
    (lambda: get_landscape("everest"), ValueError, "unknown landscape 'everest'; choose one of"),
    (lambda: IllConditionedBowl(condition_number=0.5), ValueError, "condition_number must be in"),
    (lambda: noisy("rosenbrock"), TypeError, "base must be a Landscape"),
    (lambda: noisy(rosenbrock, sigma=-1.0), ValueError, "sigma must be in"),
], ids=["three_coordinates", "scalar", "string", "unknown_name", "condition_below_one", "noisy_of_a_name",
        "negative_sigma"])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
