r"""Penalized least squares: ridge in closed form, lasso and elastic net by coordinate descent.

Unit 4, "Parameter norm penalties". One objective covers the three (scikit-learn's
``ElasticNet`` convention, and :mod:`.penalties`' with ``l1_ratio`` :math:`\rho`):

.. math::
    J(w, b) = \frac{1}{2n}\lVert y - Xw - b\rVert^2
    + \alpha\Big(\rho\lVert w\rVert_1 + \frac{1 - \rho}{2}\lVert w\rVert_2^2\Big)

:math:`\rho = 1` is the lasso, :math:`\rho = 0` ridge. The intercept :math:`b` is never
penalized: the data are centred, the weights fitted, and :math:`b = \bar y - \bar x^\top w`.

Coordinate descent updates one weight at a time with the others fixed; with the
partial residual :math:`r_j = y - \sum_{k \ne j} x_k w_k` the exact minimizer is

.. math::
    w_j \leftarrow \frac{S\big(\tfrac1n x_j^\top r_j,\; \alpha\rho\big)}{\tfrac1n x_j^\top x_j + \alpha(1 - \rho)},
    \qquad S(z, t) = \operatorname{sign}(z)\max(|z| - t, 0)

The soft-threshold :math:`S` is where exact zeros come from.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_number, check_positive_int
from .learners import check_X_y

__all__ = ["LinearFit", "soft_threshold", "ridge_fit", "elastic_net_fit", "elastic_net_path", "penalized_objective",
           "quadratic_elastic_net"]


class LinearFit(NamedTuple):
    coef: np.ndarray      # (d,) weights
    intercept: float      # unpenalized offset
    n_iter: int           # coordinate-descent sweeps (0 for the closed form)

    def predict(self, X) -> np.ndarray:
        return as_float_array(X, "X", ndim=2) @ self.coef + self.intercept


def soft_threshold(z, t: float) -> np.ndarray:
    r"""The proximal map of :math:`t|w|`: :math:`S(z, t) = \operatorname{sign}(z)\max(|z| - t, 0)`."""
    z = as_float_array(z, "z")
    t = check_number(t, "t", low=0.0)
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def _centre(X, y, fit_intercept: bool):
    X, y = check_X_y(X, y)
    y = as_float_array(y, "y")
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    xm, ym = X.mean(axis=0), y.mean()
    return X - xm, y - ym, xm, ym


def ridge_fit(X, y, alpha: float, fit_intercept: bool = True) -> LinearFit:
    r"""Minimize :math:`\frac{1}{2n}\lVert y - Xw - b\rVert^2 + \frac{\alpha}{2}\lVert w\rVert^2` exactly.

    .. math:: w = (X_c^\top X_c + n\alpha I)^{-1} X_c^\top y_c

    with :math:`X_c, y_c` centred. For :math:`\alpha > 0` the solution is unique. Its
    gradient-descent twin is weight decay (Unit 4, "L2 regularization").
    """
    alpha = check_number(alpha, "alpha", low=0.0)
    Xc, yc, xm, ym = _centre(X, y, fit_intercept)
    n, d = Xc.shape
    coef = np.linalg.lstsq(Xc.T @ Xc + n * alpha * np.eye(d), Xc.T @ yc, rcond=None)[0]
    return LinearFit(coef, float(ym - xm @ coef), 0)


def penalized_objective(X, y, coef, intercept: float, alpha: float, l1_ratio: float = 1.0) -> float:
    """The value of the elastic-net objective :math:`J(w, b)` of the module docstring."""
    X = as_float_array(X, "X", ndim=2)
    coef = as_float_array(coef, "coef", ndim=1)
    r = as_float_array(y, "y") - X @ coef - intercept
    rho = check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    return float(r @ r / (2 * len(r)) + alpha * (rho * np.abs(coef).sum() + 0.5 * (1 - rho) * coef @ coef))


def elastic_net_fit(X, y, alpha: float, l1_ratio: float = 1.0, fit_intercept: bool = True, max_iter: int = 1000,
                    tol: float = 1e-8, coef_init=None) -> LinearFit:
    r"""Minimize the elastic-net objective by cyclic coordinate descent (``l1_ratio=1``: the lasso).

    Parameters
    ----------
    X : array (n, d); y : array (n,)
    alpha : float
        Penalty strength :math:`\alpha \ge 0`.
    l1_ratio : float
        :math:`\rho \in [0, 1]`, the share of the L1 term.
    max_iter : int
        Largest number of sweeps over the coordinates.
    tol : float
        Stop when no weight moved by more than ``tol`` times the largest weight in a sweep.
    coef_init : array (d,) or None
        Starting weights (warm start along a path).

    Returns
    -------
    LinearFit
        Matches ``sklearn.linear_model.ElasticNet(alpha, l1_ratio=l1_ratio)`` to the solver's tolerance.
    """
    alpha = check_number(alpha, "alpha", low=0.0)
    check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    Xc, yc, xm, ym = _centre(X, y, fit_intercept)
    n = len(Xc)
    # coordinate descent needs only these (covariance updates): J - |y|²/2n = ½ wᵀGw - cᵀw + penalty
    fit = quadratic_elastic_net(Xc.T @ Xc / n, Xc.T @ yc / n, alpha, l1_ratio, coef_init, max_iter, tol)
    return LinearFit(fit.coef, float(ym - xm @ fit.coef), fit.n_iter)


def quadratic_elastic_net(G, c, alpha: float, l1_ratio: float = 1.0, coef_init=None, max_iter: int = 1000,
                          tol: float = 1e-8) -> LinearFit:
    r"""Minimize :math:`\tfrac12 w^\top G w - c^\top w + \alpha\big(\rho\lVert w\rVert_1 + \tfrac{1-\rho}2\lVert w\rVert^2\big)`
    by cyclic coordinate descent (the solver of :func:`elastic_net_fit`).

    Each coordinate moves to its exact minimizer
    :math:`w_j \leftarrow S(c_j - \sum_{k \ne j} G_{jk} w_k,\ \alpha\rho) / (G_{jj} + \alpha(1 - \rho))`
    with the soft-threshold :math:`S` of :func:`soft_threshold` (written for one number here: it runs
    millions of times along a path).

    Parameters
    ----------
    G : array (d, d)
        Symmetric positive semi-definite curvature (:math:`X^\top X / n` for least squares).
    c : array (d,)
        Linear term (:math:`X^\top y / n`; :math:`G w^*` for a quadratic centred at :math:`w^*`).
    alpha, l1_ratio, coef_init, max_iter, tol
        As in :func:`elastic_net_fit`.

    Returns
    -------
    LinearFit
        ``coef``, ``intercept`` 0 and the number of sweeps.
    """
    G, c = as_float_array(G, "G", ndim=2), as_float_array(c, "c", ndim=1)
    d = len(c)
    if G.shape != (d, d):
        raise ValueError(f"G must have shape ({d}, {d}) to match c {c.shape}, got {G.shape}")
    alpha = check_number(alpha, "alpha", low=0.0)
    rho = check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    max_iter = check_positive_int(max_iter, "max_iter")
    w = np.zeros(d) if coef_init is None else as_float_array(coef_init, "coef_init", ndim=1).copy()
    if w.shape != (d,):
        raise ValueError(f"coef_init must have shape ({d},), got {w.shape}")
    q = G @ w                                # kept equal to G w as the weights change
    diag, l1, l2 = G.diagonal().tolist(), alpha * rho, alpha * (1 - rho)
    sweep = 0
    for sweep in range(1, max_iter + 1):
        biggest_move = 0.0
        for j in range(d):
            if diag[j] == 0.0:
                continue
            old = float(w[j])
            z = float(c[j] - q[j]) + diag[j] * old
            new = (z - l1 if z > l1 else z + l1 if z < -l1 else 0.0) / (diag[j] + l2)
            if new != old:
                w[j] = new
                q += G[:, j] * (new - old)
                biggest_move = max(biggest_move, abs(new - old))
        if biggest_move <= tol * max(1.0, float(np.abs(w).max())):
            break
    return LinearFit(w, 0.0, sweep)


def elastic_net_path(X, y, alphas, l1_ratio: float = 1.0, fit_intercept: bool = True, **kw) -> np.ndarray:
    """Coefficients ``(len(alphas), d)`` along ``alphas``, each fit warm-started from the previous one.

    Give ``alphas`` from large to small (sparse to dense), as a path is usually traced.
    """
    alphas = as_float_array(alphas, "alphas", ndim=1)
    coefs, w = [], None
    for a in alphas:
        fit = elastic_net_fit(X, y, float(a), l1_ratio, fit_intercept, coef_init=w, **kw)
        w = fit.coef
        coefs.append(w.copy())
    return np.array(coefs)
