"""Penalized least squares (ridge, lasso, elastic net by coordinate descent) and the 0-1 bias–variance split:
scikit-learn parity, hand-computed cases, optimality conditions, properties and bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit4

from dlcourse.regularization import (elastic_net_fit, elastic_net_path, penalized_objective,  # noqa: E402
                                     polynomial_fit_predict, quadratic_elastic_net, ridge_fit, soft_threshold,
                                     zero_one_bias_variance)


@pytest.fixture
def data(rng):
    X = rng.normal(size=(60, 6))
    X[:, 1] = X[:, 0] + 0.3 * rng.normal(size=60)          # two correlated features
    y = X @ np.array([1.5, 0.0, -2.0, 0.0, 0.5, 0.0]) + 3.0 + rng.normal(0, 0.5, 60)
    return X, y


CASES = [(0.01, 1.0), (0.1, 1.0), (0.5, 1.0), (0.05, 0.5), (0.2, 0.2), (0.1, 0.0), (1.0, 0.7)]


@pytest.mark.parametrize("alpha, l1_ratio", CASES)
def test_elastic_net_matches_sklearn(data, alpha, l1_ratio):
    from sklearn.linear_model import ElasticNet

    X, y = data
    ours = elastic_net_fit(X, y, alpha, l1_ratio, tol=1e-12, max_iter=20000)
    theirs = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=200000).fit(X, y)
    np.testing.assert_allclose(ours.coef, theirs.coef_, atol=1e-7)
    assert ours.intercept == pytest.approx(theirs.intercept_, abs=1e-7)
    np.testing.assert_array_equal(ours.coef == 0, theirs.coef_ == 0)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 2.0])
def test_ridge_matches_sklearn_and_coordinate_descent(data, alpha):
    from sklearn.linear_model import Ridge

    X, y = data
    fit = ridge_fit(X, y, alpha)
    # scikit-learn's Ridge minimizes ||y - Xw||² + a ||w||²: a = n * alpha in our scaling
    np.testing.assert_allclose(fit.coef, Ridge(alpha=len(y) * alpha).fit(X, y).coef_, rtol=1e-9, atol=1e-12)
    if alpha > 0:
        np.testing.assert_allclose(fit.coef, elastic_net_fit(X, y, alpha, 0.0, tol=1e-13, max_iter=50000).coef,
                                   atol=1e-8)


@pytest.mark.parametrize("alpha, l1_ratio", CASES)
def test_the_solution_satisfies_the_optimality_conditions(data, alpha, l1_ratio):
    """Zero subgradient: |grad_j| <= alpha*rho where w_j = 0, grad_j = -alpha*rho*sign(w_j) elsewhere."""
    X, y = data
    fit = elastic_net_fit(X, y, alpha, l1_ratio, tol=1e-13, max_iter=50000)
    Xc, yc = X - X.mean(0), y - y.mean()
    grad = -Xc.T @ (yc - Xc @ fit.coef) / len(y) + alpha * (1 - l1_ratio) * fit.coef
    zero = fit.coef == 0
    assert np.all(np.abs(grad[zero]) <= alpha * l1_ratio + 1e-9)
    np.testing.assert_allclose(grad[~zero], -alpha * l1_ratio * np.sign(fit.coef[~zero]), atol=1e-8)


def test_objective_is_minimal_against_random_moves(data, rng):
    X, y = data
    fit = elastic_net_fit(X, y, 0.1, 0.8, tol=1e-12, max_iter=20000)
    best = penalized_objective(X, y, fit.coef, fit.intercept, 0.1, 0.8)
    for _ in range(200):
        move = rng.normal(0, 1e-3, 6)
        assert penalized_objective(X, y, fit.coef + move, fit.intercept, 0.1, 0.8) >= best - 1e-12


def test_soft_threshold_hand_computed():
    np.testing.assert_allclose(soft_threshold([-3.0, -1.0, -0.5, 0.0, 0.5, 2.0], 1.0), [-2.0, 0.0, 0.0, 0.0, 0.0, 1.0])


@settings(max_examples=50, deadline=None)
@given(st.floats(-100, 100), st.floats(0, 50))
def test_soft_threshold_is_the_one_dimensional_lasso(z, t):
    """S(z, t) minimizes (w - z)²/2 + t|w|."""
    w = float(soft_threshold(z, t))
    f = lambda v: 0.5 * (v - z) ** 2 + t * abs(v)  # noqa: E731
    assert abs(w) <= abs(z) + 1e-12
    assert f(w) <= min(f(w + 1e-3), f(w - 1e-3)) + 1e-12


def test_lasso_zeros_grow_with_alpha_on_independent_features(rng):
    X = rng.normal(size=(200, 8))
    X = (X - X.mean(0)) / X.std(0)
    y = X @ np.arange(1, 9) / 4 + rng.normal(0, 0.1, 200)
    zeros = [np.sum(elastic_net_fit(X, y, a, 1.0).coef == 0) for a in (0.01, 0.3, 0.8, 1.5, 2.5)]
    assert zeros == sorted(zeros) and zeros[0] == 0 and zeros[-1] == 8


def test_path_warm_starts_give_the_same_fits(data):
    X, y = data
    alphas = np.logspace(0, -2, 8)
    path = elastic_net_path(X, y, alphas, 1.0, tol=1e-12, max_iter=20000)
    for a, row in zip(alphas, path):
        np.testing.assert_allclose(row, elastic_net_fit(X, y, a, 1.0, tol=1e-12, max_iter=20000).coef, atol=1e-8)


def test_duplicated_feature_lasso_solutions_are_not_unique_ridge_is(data):
    X, y = data
    X2 = np.hstack([X, X[:, [2]]])
    starts = (None, np.r_[np.zeros(6), -1.0])
    lasso = [elastic_net_fit(X2, y, 0.05, 1.0, coef_init=s, tol=1e-13, max_iter=50000) for s in starts]
    assert abs(lasso[0].coef[2] - lasso[1].coef[2]) > 0.1
    assert lasso[0].coef[2] + lasso[0].coef[6] == pytest.approx(lasso[1].coef[2] + lasso[1].coef[6], abs=1e-6)
    ridge = ridge_fit(X2, y, 0.05)
    assert ridge.coef[2] == pytest.approx(ridge.coef[6], rel=1e-9)


def test_without_intercept_and_predict(data):
    X, y = data
    fit = elastic_net_fit(X, y - y.mean(), 0.0, 1.0, fit_intercept=False, tol=1e-13,
                          max_iter=50000)
    assert fit.intercept == 0.0
    ls = np.linalg.lstsq(X, y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(fit.coef, ls, atol=1e-6)
    np.testing.assert_allclose(fit.predict(X), X @ fit.coef)


@pytest.mark.parametrize("alpha, l1_ratio", CASES)
def test_quadratic_elastic_net_is_the_solver_of_elastic_net_fit(data, alpha, l1_ratio):
    """On G = XᵀX/n, c = Xᵀy/n of centred data it returns elastic_net_fit's weights and sweeps exactly (fails if
    the two ever run different coordinate descents, e.g. a solver that stops on an absolute tolerance)."""
    X, y = data
    Xc, yc = X - X.mean(0), y - y.mean()
    fit = elastic_net_fit(X, y, alpha, l1_ratio)
    same = quadratic_elastic_net(Xc.T @ Xc / len(X), Xc.T @ yc / len(X), alpha, l1_ratio)
    assert np.array_equal(same.coef, fit.coef) and same.n_iter == fit.n_iter and same.intercept == 0.0


@pytest.mark.parametrize("alpha, l1_ratio", CASES)
def test_quadratic_elastic_net_with_a_diagonal_curvature_is_one_soft_threshold(alpha, l1_ratio):
    """With a diagonal G the coordinates decouple: w = S(c, αρ) / (G_jj + α(1 - ρ)), by hand (fails for a solver
    that shrinks before thresholding, or thresholds c/G_jj instead of c)."""
    G, c = np.diag([2.0, 0.5, 1.0, 4.0]), np.array([0.3, -0.05, -1.2, 0.0])
    want = soft_threshold(c, alpha * l1_ratio) / (np.diag(G) + alpha * (1 - l1_ratio))
    np.testing.assert_allclose(quadratic_elastic_net(G, c, alpha, l1_ratio).coef, want, atol=1e-12)


@pytest.mark.parametrize("call, exc, match", [
    (lambda X, y: elastic_net_fit(X, y, -1.0), ValueError, "alpha"),
    (lambda X, y: elastic_net_fit(X, y, 0.1, 1.5), ValueError, "l1_ratio"),
    (lambda X, y: elastic_net_fit(X, y[:5], 0.1), ValueError, "y must have shape"),
    (lambda X, y: elastic_net_fit(X, y, 0.1, coef_init=np.zeros(3)), ValueError, "coef_init must have shape"),
    (lambda X, y: elastic_net_fit(X, y, 0.1, max_iter=0), ValueError, "max_iter"),
    (lambda X, y: ridge_fit(X[0], y, 0.1), ValueError, "X must be 2-D"),
    (lambda X, y: soft_threshold([1.0], -1.0), ValueError, "t must be"),
    (lambda X, y: ridge_fit(X, y, "0.1"), TypeError, "alpha must be a real number"),
    (lambda X, y: quadratic_elastic_net(np.eye(3), np.ones(2), 0.1), ValueError, r"G must have shape \(2, 2\)"),
])
def test_bad_input(data, call, exc, match):
    with pytest.raises(exc, match=match):
        call(*data)


# -- the 0-1 loss bias and variance --------------------------------------------------------------------
def test_zero_one_bias_variance_hand_computed():
    P = np.array([[0, 1, 1], [0, 0, 1], [1, 1, 1]])    # 3 fits, 3 test points
    r = zero_one_bias_variance(P, [0, 1, 0])
    np.testing.assert_array_equal(r.main_prediction, [0, 1, 1])
    assert r.bias == pytest.approx(1 / 3)               # point 3: main prediction 1, truth 0
    assert r.variance == pytest.approx(2 / 9)           # one disagreement at point 1, one at point 2
    assert r.error == pytest.approx(5 / 9)


def test_zero_one_ties_go_to_the_smallest_label_and_bad_shapes():
    r = zero_one_bias_variance([[2, 5], [5, 2]], [5, 5])
    np.testing.assert_array_equal(r.main_prediction, [2, 2])
    with pytest.raises(ValueError, match="predictions must have shape"):
        zero_one_bias_variance([[0, 1]], [0, 1, 0])


def test_polynomial_fits_of_high_degree_do_not_warn(rng):
    x, y = rng.uniform(0, 1, 5), rng.normal(size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = polynomial_fit_predict(8)(x, y, x)
    np.testing.assert_allclose(pred, y, atol=1e-6)      # more coefficients than points: it interpolates
