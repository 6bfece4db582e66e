r"""Penalty lab: L1, L2 and elastic-net paths on the diabetes data, and the constraint-region picture.

The data are scikit-learn's bundled diabetes set (442 patients, 10 standardized
features, a disease-progression score, standardized too), split 300 / 142 into
training and validation. The objective is :mod:`dlcourse.regularization.linear_models`':

.. math::
    \frac{1}{2n}\lVert y - Xw - b\rVert^2 + \alpha\big(\rho\lVert w\rVert_1 + \tfrac{1-\rho}{2}\lVert w\rVert^2\big)

The 2-D picture minimizes the same penalty plus a quadratic loss
:math:`\tfrac12 (w - w^*)^\top A (w - w^*)`; its solution is where a loss contour first
touches a level set of the penalty (a diamond for L1, a circle for L2).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..plotting import CYCLE, PALETTE, View, legend_outside, picture
from ..regularization import elastic_net_path, quadratic_elastic_net, ridge_fit
from .threads import single_threaded

PENALTIES = {"L1 (lasso)": 1.0, "L2 (ridge)": 0.0, "elastic net": None}
L1_RATIOS = (0.2, 0.5, 0.8)
LOG_ALPHAS = np.round(np.arange(0.5, -3.0001, -0.1), 1)   # the slider's values, large to small
A_2D = np.array([[1.0, 0.3], [0.3, 1.0]])                  # curvature of the 2-D loss
W_STAR = np.array([1.5, 0.15])                              # unpenalized optimum of the 2-D loss


@lru_cache(maxsize=1)
def diabetes_split(rng=0):
    """Standardized diabetes data, split 300 / 142: ``X_train, X_val, y_train, y_val, feature_names``."""
    seed = as_seed(rng, "rng")
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    X = (d.data - d.data.mean(0)) / d.data.std(0)
    y = (d.target - d.target.mean()) / d.target.std()
    idx = np.random.default_rng(seed).permutation(len(X))
    tr, va = idx[:300], idx[300:]
    return X[tr], X[va], y[tr], y[va], tuple(d.feature_names)


def rho_of(penalty: str, l1_ratio: float) -> float:
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {list(PENALTIES)}, got {penalty!r}")
    return l1_ratio if PENALTIES[penalty] is None else PENALTIES[penalty]


@lru_cache(maxsize=8)
@single_threaded
def coefficient_path(rho: float) -> np.ndarray:
    """Weights ``(len(LOG_ALPHAS), 10)`` on the diabetes training split, for every slider value."""
    Xtr, _, ytr, _, _ = diabetes_split()
    alphas = 10.0 ** LOG_ALPHAS
    if rho == 0.0:
        return np.array([ridge_fit(Xtr, ytr, a).coef for a in alphas])
    return elastic_net_path(Xtr, ytr, alphas, l1_ratio=rho, tol=1e-6)


def quadratic_enet(alpha: float, rho: float, A=A_2D, w_star=W_STAR, sweeps: int = 500) -> np.ndarray:
    r"""Minimize the 2-D problem of the picture by coordinate descent (exact for this convex problem):

    .. math:: \tfrac12(w - w^*)^\top A(w - w^*) + \alpha\big(\rho\lVert w\rVert_1 + \tfrac{1-\rho}2\lVert w\rVert^2\big)

    which is :func:`dlcourse.regularization.quadratic_elastic_net` with :math:`G = A`, :math:`c = A w^*`.
    """
    return quadratic_elastic_net(A, A @ w_star, alpha, rho, max_iter=sweeps, tol=1e-12).coef


def enet_value(w, rho: float) -> np.ndarray:
    r"""The penalty's shape without α: :math:`\rho\sum|w_i| + \tfrac{1-\rho}{2}\sum w_i^2` over the last axis."""
    w = np.asarray(w, dtype=np.float64)
    return rho * np.abs(w).sum(-1) + 0.5 * (1 - rho) * (w * w).sum(-1)


class PenaltyData(NamedTuple):
    penalty: str
    rho: float
    log_alpha: float
    index: int                 # position of log_alpha in LOG_ALPHAS
    path: np.ndarray           # (len(LOG_ALPHAS), 10)
    coef: np.ndarray           # (10,) weights at this alpha
    n_zero: int                # exact zeros among them
    train_mse: float
    val_mse: float
    w2d: np.ndarray            # the 2-D solution
    features: tuple


def compute_penalty(penalty: str = "L1 (lasso)", log_alpha: float = -1.0, l1_ratio: float = 0.5) -> PenaltyData:
    rho = rho_of(penalty, l1_ratio)
    i = int(np.argmin(np.abs(LOG_ALPHAS - log_alpha)))
    path = coefficient_path(rho)
    Xtr, Xva, ytr, yva, names = diabetes_split()
    w = path[i]
    b = ytr.mean() - Xtr.mean(0) @ w
    mse = [float(np.mean((X @ w + b - y) ** 2)) for X, y in ((Xtr, ytr), (Xva, yva))]
    return PenaltyData(penalty, rho, float(LOG_ALPHAS[i]), i, path, w, int(np.sum(w == 0.0)), mse[0], mse[1],
                       quadratic_enet(10.0 ** LOG_ALPHAS[i], rho), names)


def describe_penalty(d: PenaltyData) -> str:
    return (f"{d.penalty}{f' (ρ = {d.rho})' if d.penalty == 'elastic net' else ''}, α = {10 ** d.log_alpha:.3g}: "
            f"<b>{d.n_zero} of {len(d.coef)} weights exactly zero</b>; training MSE {d.train_mse:.3f}, "
            f"validation MSE {d.val_mse:.3f}; 2-D solution w = ({d.w2d[0]:.2f}, {d.w2d[1]:.2f}).")


_G = np.linspace(-1.7, 2.2, 157)
_GX, _GY = np.meshgrid(_G, _G)
_LOSS = 0.5 * np.einsum("...i,ij,...j->...", np.stack([_GX, _GY], -1) - W_STAR, A_2D,
                        np.stack([_GX, _GY], -1) - W_STAR)


class PenaltyView(View):
    """Loss contours and the penalty's region (left), coefficient paths (middle), weights now (right).

    The axes are drawn once for every penalty (limits fit all the paths); paths, bars and
    the region are updated in place.
    """

    def setup(self, fig, d: PenaltyData) -> None:
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.2, top=0.9, wspace=0.3)
        self.ax1, self.ax2, self.ax3 = ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1.25, 1.1])
        ax1.contour(_GX, _GY, _LOSS, levels=[0.01, 0.05, 0.15, 0.3, 0.5, 0.8, 1.2], colors="#aaa", linewidths=0.7)
        ax1.plot(*W_STAR, "k+", ms=8)
        ax1.annotate("no penalty", W_STAR, xytext=(4, 4), textcoords="offset points", fontsize=9)
        ax1.axhline(0, color="#ccc", lw=0.6)
        ax1.axvline(0, color="#ccc", lw=0.6)
        ax1.set_aspect("equal")
        ax1.set_xlim(_G[0], _G[-1])
        ax1.set_ylim(_G[0], _G[-1])
        ax1.set_xlabel("w₁")
        ax1.set_ylabel("w₂", labelpad=0)
        self.t1 = ax1.set_title(" ", fontsize=9)
        self.sol, = ax1.plot([], [], "o", color=PALETTE["vermillion"], ms=6, zorder=5)
        lim = 1.1 * max(np.abs(coefficient_path(r)).max() for r in (1.0, 0.0) + L1_RATIOS)
        self.paths = [ax2.plot([], [], color=CYCLE[j % 8], lw=1.2, ls="-" if j < 8 else "--", label=name)[0]
                      for j, name in enumerate(d.features)]
        ax2.axhline(0, color="#999", lw=0.6)
        ax2.set_xlim(LOG_ALPHAS.max() + 0.05, LOG_ALPHAS.min() - 0.05)
        ax2.set_ylim(-lim, lim)
        ax2.set_xlabel("log₁₀ α  (weaker penalty →)")
        ax2.set_ylabel("weight", labelpad=0)
        legend_outside(ax2, "right")
        self.t2 = ax2.set_title(" ", fontsize=9)
        self.vline = ax2.axvline(LOG_ALPHAS[0], color="k", lw=1)
        self.bars = ax3.bar(range(len(d.features)), np.zeros(len(d.features)),
                            color=[CYCLE[j % 8] for j in range(len(d.features))])
        ax3.set_xticks(range(len(d.features)), d.features, fontsize=9, rotation=60)
        ax3.set_ylim(-lim, lim)
        ax3.axhline(0, color="#999", lw=0.6)
        self.t3 = ax3.set_title(" ", fontsize=9)

    def update(self, d: PenaltyData) -> list:
        alpha = 10.0 ** d.log_alpha
        w = d.w2d
        level = max(float(enet_value(w, d.rho)), 1e-9)
        shape_values = enet_value(np.stack([_GX, _GY], -1), d.rho)
        region = self.ax1.contourf(_GX, _GY, shape_values, levels=[0, level], colors=[PALETTE["sky"]], alpha=0.45)
        picture(region)   # a region in one colour, not a heatmap
        edge = self.ax1.contour(_GX, _GY, shape_values, levels=[level], colors=[PALETTE["blue"]], linewidths=1.2)
        diff = w - W_STAR
        touch = self.ax1.contour(_GX, _GY, _LOSS, levels=[max(0.5 * diff @ A_2D @ diff, 1e-9)],
                                 colors=[PALETTE["vermillion"]], linewidths=1.2)
        self.sol.set_data([w[0]], [w[1]])
        shape = {1.0: "diamond", 0.0: "circle"}.get(d.rho, "rounded diamond")
        self.t1.set_text(f"α = {alpha:.3g}: the {shape} meets a contour")
        for j, line in enumerate(self.paths):
            line.set_data(LOG_ALPHAS, d.path[:, j])
        name = d.penalty + (f", ρ = {d.rho}" if d.penalty == "elastic net" else "")
        self.t2.set_text(f"{name}: coefficient paths")
        self.vline.set_xdata([d.log_alpha, d.log_alpha])
        for bar, v in zip(self.bars, d.coef):
            bar.set_height(v)
        self.t3.set_text(f"weights: {d.n_zero} of {len(d.coef)} exactly zero")
        return (self._swap("region", [region, edge, touch])
                + [self.sol, self.t1, *self.paths, self.t2, self.vline, *self.bars, self.t3])


# ------------------------------------------------------------------- the L1 vs L2 table, measured
def with_noise_features(n_noise: int = 10, rng=0):
    """The diabetes split with ``n_noise`` standard-normal columns appended (features that carry nothing)."""
    seed = as_seed(rng, "rng")
    Xtr, Xva, ytr, yva, names = diabetes_split()
    rng = np.random.default_rng(seed)
    add = [rng.normal(size=(len(X), n_noise)) for X in (Xtr, Xva)]
    return (np.hstack([Xtr, add[0]]), np.hstack([Xva, add[1]]), ytr, yva,
            names + tuple(f"noise {i + 1}" for i in range(n_noise)))


def best_alpha(rho: float, Xtr, ytr, Xva, yva, log_alphas=np.arange(0.0, -3.01, -0.1)):
    """The α of the grid with the smallest validation MSE: ``(alpha, fit, val_mse)``."""
    from ..regularization import elastic_net_fit

    best = None
    for a in 10.0 ** np.asarray(log_alphas):
        fit = ridge_fit(Xtr, ytr, a) if rho == 0.0 else elastic_net_fit(Xtr, ytr, a, rho, tol=1e-6)
        mse = float(np.mean((fit.predict(Xva) - yva) ** 2))
        if best is None or mse < best[2]:
            best = (float(a), fit, mse)
    return best


def lad_fit(X, y, iters: int = 100) -> tuple[np.ndarray, float]:
    r"""Least absolute deviations :math:`\min \sum_i |y_i - x_i^\top w - b|` by iteratively reweighted least squares."""
    A = np.c_[X, np.ones(len(X))]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    for _ in range(iters):
        w = 1.0 / np.maximum(np.abs(y - A @ coef), 1e-6)
        coef = np.linalg.solve(A.T @ (A * w[:, None]), A.T @ (w * y))
    return coef[:-1], float(coef[-1])


@single_threaded
def l1_l2_measurements(rng=0) -> dict:
    """The numbers behind the L1 vs L2 table (see notebook 4.2); every entry is measured, not quoted."""
    seed = as_seed(rng, "rng")
    from ..regularization import elastic_net_fit, penalized_objective

    Xtr, Xva, ytr, yva, names = with_noise_features(rng=seed)
    out = {}
    for label, rho in (("L1", 1.0), ("L2", 0.0)):
        a, fit, mse = best_alpha(rho, Xtr, ytr, Xva, yva)
        out[label] = {"alpha": a, "zeros": int(np.sum(fit.coef == 0)), "noise_kept": int(np.sum(fit.coef[10:] != 0)),
                      "val_mse": mse, "n_iter": fit.n_iter}
    # a duplicated feature: is the solution unique?
    X2 = np.hstack([Xtr[:, :10], Xtr[:, [2]]])          # bmi twice
    a = 0.05
    for label, rho in (("L1", 1.0), ("L2", 0.0)):
        starts = [None, np.r_[np.zeros(10), 0.5]]
        fits = [elastic_net_fit(X2, ytr, a, rho, coef_init=s, tol=1e-10, max_iter=5000) for s in starts]
        out[label]["duplicate_splits"] = [(float(f.coef[2]), float(f.coef[10])) for f in fits]
        out[label]["duplicate_objectives"] = [penalized_objective(X2, ytr, f.coef, f.intercept, a, rho) for f in fits]
    # outliers in the targets
    X, y = Xtr[:, :10], ytr.copy()
    y_out = y.copy()
    y_out[np.argsort(X[:, 2])[-5:]] -= 10.0               # five heavy-BMI patients with absurd targets
    for label, fitter in (("L1", lambda X_, y_: elastic_net_fit(X_, y_, 0.01, 1.0, tol=1e-9).coef),
                          ("L2", lambda X_, y_: ridge_fit(X_, y_, 0.01).coef),
                          ("L1 loss", lambda X_, y_: lad_fit(X_, y_)[0])):
        w, w_out = fitter(X, y), fitter(X, y_out)
        out.setdefault(label, {})["outlier_shift"] = float(np.linalg.norm(w_out - w) / np.linalg.norm(w))
    return out
