r"""Exploding gradients in a linear recurrence, with and without clipping (Unit 3, "Gradient clipping").

The model is the smallest recurrent network: :math:`h_t = w\,h_{t-1} + u\,x_t`, :math:`h_0 = 0`,
read out at :math:`t = T`, so that :math:`h_T = u \sum_{t=1}^{T} w^{T-t} x_t`. It is trained to
copy a teacher with :math:`(w, u) = (0.9, 1)` on random sequences. For :math:`|w| > 1` the
output, the loss and the gradient grow like :math:`w^{T}`: a wall in the loss landscape.
One gradient step taken there throws the parameters out to where the numbers overflow;
clipping bounds the step. Near the teacher the loss is steep too (its largest curvature is
about 650 for :math:`T = 30`), so unclipped gradient descent is stable there only for a
learning rate below about 0.003.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed, check_number, check_positive_int
from ..optim import SGD, clip_grad_norm, clip_grad_value
from ..plotting import PALETTE, View, colorbar, legend_outside

TEACHER = (0.9, 1.0)
N_SEQUENCES = 64
MODES = ("none", "value", "norm")
W_RANGE, U_RANGE = (0.0, 1.3), (-0.5, 2.0)


@lru_cache(maxsize=16)
def sequences(T: int, rng=0):
    """``(X, y)``: 64 random input sequences of length ``T`` and the teacher's outputs."""
    seed = as_seed(rng, "rng")
    X = np.random.default_rng(seed).standard_normal((N_SEQUENCES, T))
    return X, rnn_output(*TEACHER, X)


def powers(w: float, T: int) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`p_t = w^{T-t}` and :math:`p'_t = (T-t)\,w^{T-t-1}` for :math:`t = 1..T`."""
    k = np.arange(T - 1, -1, -1, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        p = w ** k
        dp = np.where(k > 0, k * w ** np.maximum(k - 1, 0), 0.0)
    return p, dp


def rnn_output(w: float, u: float, X: np.ndarray) -> np.ndarray:
    """:math:`h_T` for each row of ``X`` (shape ``(N, T)``)."""
    p, _ = powers(w, X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        return u * (X @ p)


def loss_and_grad(params: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Mean squared error :math:`L = \frac1N \sum_n (h_T^{(n)} - y_n)^2` and its gradient.

    Returns ``(L, [dL/dw, dL/du])``, from the closed form of :math:`h_T` (no loop over time).
    """
    w, u = float(params[0]), float(params[1])
    p, dp = powers(w, X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        s = X @ p
        e = u * s - y
        loss = float(np.mean(e * e))
        grad = np.array([2 * np.mean(e * u * (X @ dp)), 2 * np.mean(e * s)])
    return loss, grad


def loss_grid(T: int, n: int = 70) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on an ``n`` by ``n`` grid of (w, u): for each w it is a quadratic in u."""
    X, y = sequences(T)
    ws, us = np.linspace(*W_RANGE, n), np.linspace(*U_RANGE, n)
    S = np.stack([X @ powers(w, T)[0] for w in ws])          # (n_w, N)
    a, b, c = np.mean(S * S, 1), np.mean(S * y, 1), np.mean(y * y)
    L = a[None, :] * us[:, None] ** 2 - 2 * b[None, :] * us[:, None] + c
    W, U = np.meshgrid(ws, us)
    return W, U, L


class ClipRun(NamedTuple):
    path: np.ndarray       # (k + 1, 2) parameters, until done or blown up
    loss: np.ndarray       # (k + 1,)
    grad_norm: np.ndarray  # (k + 1,) norm of the gradient before clipping
    blew_up: bool


def train_clipped(mode: str, lr: float, threshold: float, start=(1.1, 0.5), T: int = 30,
                  steps: int = 150) -> ClipRun:
    """Gradient descent from ``start``, clipping each gradient by ``mode`` ("none", "value" or "norm").

    Uses :func:`dlcourse.optim.clip_grad_value` / :func:`~dlcourse.optim.clip_grad_norm`
    and :class:`dlcourse.optim.SGD`; a run stops once the loss is no longer finite or
    :math:`|w| > 10`. It stays outside :func:`dlcourse.train.fit` (issue 14): the model is the two
    numbers :math:`(w, u)` with the closed-form loss of :func:`loss_and_grad` (not a layer), and the lab
    draws every step's point and its gradient's norm before clipping, stopping at the first blow-up.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    threshold = check_number(threshold, "threshold", low=0.0, low_open=True)
    steps = check_positive_int(steps, "steps")
    X, y = sequences(check_positive_int(T, "T"))
    p = np.array(start, dtype=float)
    opt = SGD([p], lr=lr)
    path, losses, norms = [p.copy()], [], []
    blew_up = False
    for _ in range(steps + 1):
        loss, g = loss_and_grad(p, X, y)
        losses.append(loss)
        with np.errstate(over="ignore", invalid="ignore"):
            norms.append(float(np.sqrt(np.sum(g * g))))
        if not (np.isfinite(loss) and np.all(np.isfinite(g)) and abs(p[0]) <= 10):
            blew_up = True
            break
        if len(path) > steps:
            break
        if mode == "value":
            clip_grad_value([g], threshold)
        elif mode == "norm":
            clip_grad_norm([g], threshold)
        opt.step([g])
        path.append(p.copy())
    return ClipRun(np.array(path), np.array(losses), np.array(norms), blew_up)


class ClipData(NamedTuple):
    lr: float
    threshold: float
    start: tuple
    T: int
    runs: dict  # mode -> ClipRun
    grid: tuple


@lru_cache(maxsize=128)
def _runs(lr, threshold, start, T):
    return {m: train_clipped(m, lr, threshold, start, T) for m in MODES}


def compute_clipping(lr: float = 0.002, threshold: float = 10.0, w0: float = 1.1, u0: float = 0.5,
                     T: int = 30) -> ClipData:
    start = (float(w0), float(u0))
    return ClipData(float(lr), float(threshold), start, int(T), _runs(float(lr), float(threshold), start, int(T)),
                    _grid(int(T)))


@lru_cache(maxsize=8)
def _grid(T: int):
    return loss_grid(T)


STYLE = {"none": dict(color=PALETTE["vermillion"], label="no clipping"),
         "value": dict(color=PALETTE["green"], label="clip by value"),
         "norm": dict(color=PALETTE["blue"], label="clip by norm")}


class ClipView(View):
    """Paths on the (w, u) landscape, the loss, and the gradient norm before clipping."""

    def setup(self, fig, d: ClipData) -> None:
        fig.subplots_adjust(wspace=0.45)   # room for the colour bar's label
        self.ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
        ax1 = self.ax1
        ax1.plot(*TEACHER, "*", color=PALETTE["yellow"], ms=12, mec="k", zorder=5)
        ax1.axvline(1.0, color="k", lw=0.6, ls=":")
        ax1.set_xlim(*W_RANGE)
        ax1.set_ylim(*U_RANGE)
        ax1.set_xlabel("recurrent weight w")
        ax1.set_ylabel("input weight u")
        self.title = ax1.set_title(" ", fontsize=9)
        for ax, title, label in ((ax2, "loss", "mean squared error"),
                                 (ax3, "gradient norm before clipping", "‖∇L‖")):
            ax.set_yscale("log")
            ax.set_xlim(0, 150)
            ax.set_xlabel("step")
            ax.set_ylabel(label)
            ax.set_title(title, fontsize=9)
        ax2.set_ylim(1e-4, 1e12)
        ax3.set_ylim(1e-3, 1e12)
        self.paths, self.losses, self.norms = {}, {}, {}
        for m in MODES:
            st = STYLE[m]
            self.paths[m], = ax1.plot([], [], "o-", ms=2.5, lw=1, color=st["color"], label=st["label"])
            self.losses[m], = ax2.plot([], [], color=st["color"])
            self.norms[m], = ax3.plot([], [], color=st["color"])
        colorbar(ax1, cmap="Blues", vmin=-4, vmax=12, label="log₁₀ loss", alpha=0.5)
        legend_outside(ax1, "below", ncol=2)
        self.threshold = ax3.axhline(1.0, color="k", lw=0.8, ls="--")
        self.threshold_text = ax3.text(148, 1.0, "threshold", fontsize=9, ha="right", va="bottom")

    def update(self, d: ClipData) -> list:
        W, U, L = d.grid
        with np.errstate(divide="ignore"):
            levels = np.log10(np.clip(L, 1e-4, 1e12))
        fill = self.ax1.contourf(W, U, levels, levels=np.linspace(-4, 12, 17), cmap="Blues", alpha=0.5)
        self.title.set_text(f"$h_t = w\\,h_{{t-1}} + u\\,x_t$, T = {d.T}: log₁₀ loss")
        for m in MODES:
            run = d.runs[m]
            self.paths[m].set_data(run.path[:, 0], run.path[:, 1])
            steps = np.arange(len(run.loss))
            self.losses[m].set_data(steps, np.clip(run.loss, 1e-300, 1e300))
            self.norms[m].set_data(steps, np.clip(run.grad_norm, 1e-300, 1e300))
        self.threshold.set_ydata([d.threshold, d.threshold])
        self.threshold_text.set_y(d.threshold)
        return self._swap("fill", [fill]) + [self.title, *self.paths.values(), *self.losses.values(),
                                             *self.norms.values(), self.threshold, self.threshold_text]


def describe_clipping(d: ClipData) -> str:
    parts = []
    for m in MODES:
        run = d.runs[m]
        end = (f"overflows after {len(run.loss) - 1} step(s)" if run.blew_up
               else f"loss {run.loss[-1]:.3g} after {len(run.loss) - 1} steps")
        parts.append(f"<b>{STYLE[m]['label']}</b>: {end}")
    return "; ".join(parts) + f" (largest gradient norm seen: {max(r.grad_norm.max() for r in d.runs.values()):.3g})."
