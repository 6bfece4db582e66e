r"""Penalty lab: L1, L2 and elastic-net paths on the diabetes data, and the constraint-region picture.

The data are scikit-learn's bundled diabetes set (442 patients, 10 standardized
features, a disease-progression score, standardized too), split 300 / 142 into
training and validation. The objective is :mod:`dlcourse.regularization.linear_models`':

.. math:: \frac{1}{2n}\lVert y - Xw - b\rVert^2 + \alpha\big(\rho\lVert w\rVert_1 + \tfrac{1-\rho}{2}\lVert w\rVert^2\big)

The 2-D picture minimizes the same penalty plus a quadratic loss
:math:`\tfrac12 (w - w^*)^\top A (w - w^*)`; its solution is where a loss contour first
touches a level set of the penalty (a diamond for L1, a circle for L2).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..plotting import CYCLE, PALETTE, View
from ..regularization import elastic_net_path, ridge_fit

PENALTIES = {"L1 (lasso)": 1.0, "L2 (ridge)": 0.0, "elastic net": None}
L1_RATIOS = (0.2, 0.5, 0.8)
LOG_ALPHAS = np.round(np.arange(0.5, -3.0001, -0.1), 1)   # the slider's values, large to small
A_2D = np.array([[1.0, 0.3], [0.3, 1.0]])                  # curvature of the 2-D loss
W_STAR = np.array([1.5, 0.15])                              # unpenalized optimum of the 2-D loss


@lru_cache(maxsize=1)
def diabetes_split(seed: int = 0):
    """Standardized diabetes data, split 300 / 142: ``X_train, X_val, y_train, y_val, feature_names``."""
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
def coefficient_path(rho: float) -> np.ndarray:
    """Weights ``(len(LOG_ALPHAS), 10)`` on the diabetes training split, for every slider value."""
    Xtr, _, ytr, _, _ = diabetes_split()
    alphas = 10.0 ** LOG_ALPHAS
    if rho == 0.0:
        return np.array([ridge_fit(Xtr, ytr, a).coef for a in alphas])
    return elastic_net_path(Xtr, ytr, alphas, l1_ratio=rho, tol=1e-6)


def quadratic_enet(alpha: float, rho: float, A=A_2D, w_star=W_STAR, sweeps: int = 500) -> np.ndarray:
    r"""Minimize :math:`\tfrac12(w - w^*)^\top A(w - w^*) + \alpha(\rho\lVert w\rVert_1 + \tfrac{1-\rho}2\lVert w\rVert^2)`
    by coordinate descent (exact for this convex problem)."""
    w, c = np.zeros(len(w_star)), A @ w_star
    for _ in range(sweeps):
        old = w.copy()
        for j in range(len(w)):
            z = c[j] - A[j] @ w + A[j, j] * w[j]
            w[j] = np.sign(z) * max(abs(z) - alpha * rho, 0.0) / (A[j, j] + alpha * (1 - rho))
        if np.abs(w - old).max() < 1e-12:
            break
    return w


def enet_value(w, rho: float) -> np.ndarray:
    """The penalty's shape without α: :math:`\rho\sum|w_i| + \tfrac{1-\rho}{2}\sum w_i^2` over the last axis."""
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
    """Loss contours and the penalty's region (left), coefficient paths (middle), weights now (right)."""

    def key(self, d: PenaltyData):
        return (d.penalty, d.rho)

    def setup(self, fig, d: PenaltyData) -> None:
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.2, top=0.9, wspace=0.3)
        self.ax1, self.ax2, self.ax3 = ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1.25, 1.1])
        ax1.contour(_GX, _GY, _LOSS, levels=[0.01, 0.05, 0.15, 0.3, 0.5, 0.8, 1.2], colors="#aaa", linewidths=0.7)
        ax1.plot(*W_STAR, "k+", ms=8)
        ax1.annotate("no penalty", W_STAR, xytext=(4, 4), textcoords="offset points", fontsize=7)
        ax1.axhline(0, color="#ccc", lw=0.6)
        ax1.axvline(0, color="#ccc", lw=0.6)
        ax1.set_aspect("equal")
        ax1.set_xlim(_G[0], _G[-1])
        ax1.set_ylim(_G[0], _G[-1])
        ax1.set_xlabel("w₁")
        ax1.set_ylabel("w₂")
        self.t1 = ax1.set_title(" ", fontsize=9)
        self.sol, = ax1.plot([], [], "o", color=PALETTE["vermillion"], ms=6, zorder=5)
        x = LOG_ALPHAS
        for j in range(d.path.shape[1]):
            ax2.plot(x, d.path[:, j], color=CYCLE[j % 8], lw=1.2, ls="-" if j < 8 else "--", label=d.features[j])
        ax2.axhline(0, color="#999", lw=0.6)
        ax2.invert_xaxis()
        ax2.set_xlabel("log₁₀ α  (weaker penalty →)")
        ax2.set_ylabel("weight")
        ax2.legend(fontsize=6, ncol=2, loc="upper left")
        ax2.set_title(f"{d.penalty}: coefficient paths", fontsize=9)
        self.vline = ax2.axvline(x[0], color="k", lw=1)
        lim = 1.1 * np.abs(d.path).max()
        self.bars = ax3.bar(range(len(d.features)), np.zeros(len(d.features)),
                            color=[CYCLE[j % 8] for j in range(len(d.features))])
        ax3.set_xticks(range(len(d.features)), d.features, fontsize=7, rotation=60)
        ax3.set_ylim(-lim, lim)
        ax3.axhline(0, color="#999", lw=0.6)
        self.t3 = ax3.set_title(" ", fontsize=9)

    def update(self, d: PenaltyData) -> list:
        alpha = 10.0 ** d.log_alpha
        w = d.w2d
        level = enet_value(w, d.rho)
        shape_values = enet_value(np.stack([_GX, _GY], -1), d.rho)
        region = self.ax1.contourf(_GX, _GY, shape_values, levels=[0, max(level, 1e-9)], colors=[PALETTE["sky"]],
                                   alpha=0.45)
        edge = self.ax1.contour(_GX, _GY, shape_values, levels=[max(level, 1e-9)], colors=[PALETTE["blue"]],
                                linewidths=1.2)
        diff = w - W_STAR
        touch = self.ax1.contour(_GX, _GY, _LOSS, levels=[max(0.5 * diff @ A_2D @ diff, 1e-9)],
                                 colors=[PALETTE["vermillion"]], linewidths=1.2)
        self.sol.set_data([w[0]], [w[1]])
        shape = {1.0: "diamond", 0.0: "circle"}.get(d.rho, "rounded diamond")
        self.t1.set_text(f"α = {alpha:.3g}: the {shape} meets a contour")
        self.vline.set_xdata([d.log_alpha, d.log_alpha])
        for bar, v in zip(self.bars, d.coef):
            bar.set_height(v)
        self.t3.set_text(f"weights: {d.n_zero} of {len(d.coef)} exactly zero")
        return self._swap("region", [region, edge, touch]) + [self.sol, self.t1, self.vline, *self.bars, self.t3]


def plot_penalty(fig, d: PenaltyData) -> None:
    PenaltyView().plot(fig, d)
