r"""Outlier lab: one data set fitted under MSE, MAE and Huber while outliers move.

Twenty points lie near the line :math:`y = 1 + 0.5x`; up to five outliers sit at the right
end at a height the student chooses. Each loss gets its own fit:

* a **line**, fitted exactly: least squares in closed form for MSE; for MAE the best line
  through two of the data points (an L1 line always passes through at least two of them,
  so trying every pair finds it); for Huber iteratively reweighted least squares (IRLS),
  which weighs each point by :math:`\min(1, \delta/|r|)` and converges to the minimiser;
* a **small network** (1 → 16 tanh → 1), trained by 300 Adam steps on each loss at once: the
  three networks are one batch of :class:`~dlcourse.explore.unit2_batched.TanhNets`, trained by
  :func:`dlcourse.train.train_step` with a loss pair that scores network :math:`k` by loss :math:`k`.

Each fit is scored against the true line on the clean range: the RMSE of fit minus truth.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .. import losses as L
from .._validate import as_seed
from ..optim import Adam
from ..plotting import PALETTE, View
from ..train import train_step
from . import unit2_batched as bt

LOSSES = ("MSE", "MAE", "Huber")
TRUE_INTERCEPT, TRUE_SLOPE = 1.0, 0.5
OUTLIER_X = np.array([9.0, 8.5, 9.5, 8.0, 10.0])
GRID = np.linspace(-0.5, 10.5, 200)
Y_SHIFT, Y_SCALE = 3.5, 2.5          # the net sees (y - 3.5) / 2.5 and x / 5 - 1


@lru_cache(maxsize=1)
def clean_points(n: int = 20, noise: float = 0.4, rng=0) -> tuple[np.ndarray, np.ndarray]:
    """The well-behaved points: ``x`` evenly spread over [0, 10], ``y`` on the true line plus noise."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, n)
    return x, TRUE_INTERCEPT + TRUE_SLOPE * x + noise * rng.standard_normal(n)


def with_outliers(n_outliers: int, height: float) -> tuple[np.ndarray, np.ndarray]:
    """The clean points followed by ``n_outliers`` points at ``height`` (a little jitter apart)."""
    x, y = clean_points()
    jitter = np.array([0.0, 0.4, -0.3, 0.6, -0.5])[:n_outliers]
    return np.r_[x, OUTLIER_X[:n_outliers]], np.r_[y, height + jitter]


# --------------------------------------------------------------------------- lines
def fit_line_mse(x, y) -> np.ndarray:
    """``[intercept, slope]`` of least squares: the solution of the normal equations."""
    A = np.c_[np.ones_like(x), x]
    return np.linalg.solve(A.T @ A, A.T @ y)


def fit_line_mae(x, y) -> np.ndarray:
    """``[intercept, slope]`` minimising the mean absolute error, by trying every pair of points."""
    i, j = np.triu_indices(len(x), k=1)
    ok = x[i] != x[j]
    i, j = i[ok], j[ok]
    slope = (y[j] - y[i]) / (x[j] - x[i])
    intercept = y[i] - slope * x[i]
    cost = np.abs(intercept[:, None] + slope[:, None] * x[None, :] - y[None, :]).sum(axis=1)
    best = int(np.argmin(cost))
    return np.array([intercept[best], slope[best]])


def fit_line_huber(x, y, delta: float, iterations: int = 100) -> np.ndarray:
    r"""``[intercept, slope]`` minimising the Huber loss, by IRLS from the least-squares line.

    Each round solves weighted least squares with :math:`w_i = \min(1, \delta/|r_i|)`: the
    points inside the quadratic zone count fully, the others as if their residual were
    only :math:`\delta`.
    """
    A = np.c_[np.ones_like(x), x]
    theta = fit_line_mse(x, y)
    for _ in range(iterations):
        r = np.abs(A @ theta - y)
        w = np.minimum(1.0, delta / np.maximum(r, 1e-12))
        new = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * y))
        if np.allclose(new, theta, rtol=0, atol=1e-12):
            return new
        theta = new
    return theta


def fit_lines(x, y, delta: float) -> dict:
    return {"MSE": fit_line_mse(x, y), "MAE": fit_line_mae(x, y), "Huber": fit_line_huber(x, y, delta)}


# --------------------------------------------------------------------------- small networks
def _residual_grads(r: np.ndarray, delta: float) -> np.ndarray:
    """dL/d(prediction) of the mean MSE, MAE and Huber losses (:mod:`dlcourse.losses`), one per net,
    for residuals ``r`` of shape (3, N, 1)."""
    zero = np.zeros_like(r[0])
    return np.stack([L.mse_grad(r[0], zero), L.mae_grad(r[1], zero), L.huber_grad(r[2], zero, delta)])


def _net_losses(delta: float) -> tuple:
    """The loss pair of :func:`dlcourse.train.train_step` for outputs (3, N, 1): MSE, MAE and Huber, one per net."""
    def loss(out, Y):
        return L.mse(out[0], Y) + L.mae(out[1], Y) + L.huber(out[2], Y, delta)

    def loss_grad(out, Y):
        return _residual_grads(out - Y, delta)
    return loss, loss_grad


def fit_nets(x, y, delta: float, steps: int = 300, lr: float = 0.05, hidden: int = 16, rng=0) -> dict:
    """Three 1-16-1 tanh nets (MSE, MAE, Huber) trained together; returns their curves on ``GRID``."""
    seed = as_seed(rng, "rng")
    X = (x / 5.0 - 1.0)[:, None]
    Y = ((y - Y_SHIFT) / Y_SCALE)[:, None]
    nets = bt.TanhNets(3, 1, hidden, 1, rng=seed)
    model = nets.as_model()
    opt = Adam(model.parameters(), lr=lr)
    loss = _net_losses(delta / Y_SCALE)
    for t in range(steps):
        opt.lr = lr * (1.0 - t / steps)          # decay to 0, so that sign-like gradients settle
        train_step(model, X, Y, loss, opt)
    _, curves = nets.forward((GRID / 5.0 - 1.0)[:, None])
    return {name: Y_SHIFT + Y_SCALE * curves[k, :, 0] for k, name in enumerate(LOSSES)}


# --------------------------------------------------------------------------- the lab
class OutlierFit(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    n_outliers: int
    model: str
    delta: float
    curves: dict             # loss -> fitted values on GRID
    lines: dict              # loss -> [intercept, slope] (lines only; empty for nets)
    error: dict              # loss -> RMSE of (fit - true line) over the clean range [0, 10]


def compute_outlier_fit(n_outliers: int = 1, height: float = 15.0, delta: float = 1.0,
                        model: str = "line") -> OutlierFit:
    if model not in ("line", "small net"):
        raise ValueError(f"model must be 'line' or 'small net', got {model!r}")
    if not 0 <= n_outliers <= len(OUTLIER_X):
        raise ValueError(f"n_outliers must be between 0 and {len(OUTLIER_X)}, got {n_outliers}")
    x, y = with_outliers(int(n_outliers), float(height))
    if model == "line":
        lines = fit_lines(x, y, delta)
        curves = {k: b + m * GRID for k, (b, m) in lines.items()}
    else:
        lines, curves = {}, fit_nets(x, y, delta)
    clean = (GRID >= 0) & (GRID <= 10)
    truth = TRUE_INTERCEPT + TRUE_SLOPE * GRID[clean]
    error = {k: float(np.sqrt(np.mean((c[clean] - truth) ** 2))) for k, c in curves.items()}
    return OutlierFit(x, y, int(n_outliers), model, float(delta), curves, lines, error)


COLOURS = {"MSE": PALETTE["blue"], "MAE": PALETTE["green"], "Huber": PALETTE["purple"]}
YLIM = (-7.0, 23.0)


class OutlierView(View):
    """One panel per loss: the points, the outliers, the true line and the fit."""

    def setup(self, fig, d: OutlierFit) -> None:
        axes = fig.subplots(1, 3, sharey=True)
        n_clean = len(clean_points()[0])
        self.outliers, self.fits, self.titles = [], {}, {}
        for ax, name in zip(axes, LOSSES):
            ax.set_xlim(GRID[0], GRID[-1])
            ax.set_ylim(*YLIM)
            ax.plot(GRID, TRUE_INTERCEPT + TRUE_SLOPE * GRID, color="#999999", ls="--", lw=1, label="true line")
            ax.scatter(d.x[:n_clean], d.y[:n_clean], s=12, color=PALETTE["black"], zorder=3)
            self.outliers.append(ax.scatter([], [], s=40, marker="X", color=PALETTE["vermillion"], zorder=4))
            self.fits[name], = ax.plot([], [], color=COLOURS[name], lw=2.5, label=f"fit under {name}")
            ax.legend(fontsize=9, loc="upper left")
            ax.set_xlabel("x")
            self.titles[name] = ax.set_title(" ", fontsize=9)
        axes[0].set_ylabel("y")

    def update(self, d: OutlierFit) -> list:
        n_clean = len(d.x) - d.n_outliers
        pts = np.c_[d.x[n_clean:], d.y[n_clean:]] if d.n_outliers else np.empty((0, 2))
        for s in self.outliers:
            s.set_offsets(pts)
        for name in LOSSES:
            self.fits[name].set_data(GRID, d.curves[name])
            if d.lines:
                b, m = d.lines[name]
                text = f"{name}: y = {b:.2f} + {m:.2f}x"
            else:
                text = f"{name}: small net"
            self.titles[name].set_text(f"{text}\nerror vs true line {d.error[name]:.2f}")
        return self.outliers + list(self.fits.values()) + list(self.titles.values())


def describe_outlier_fit(d: OutlierFit) -> str:
    worst = max(d.error, key=d.error.get)
    best = min(d.error, key=d.error.get)
    return (f"{d.n_outliers} outlier(s), δ = {d.delta:g}. Closest to the true line: <b>{best}</b> "
            f"({d.error[best]:.2f}); furthest: <b>{worst}</b> ({d.error[worst]:.2f}).")
