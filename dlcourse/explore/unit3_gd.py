"""Gradient descent on a quadratic and on real data (Unit 3, "Gradient descent and its variants").

- :func:`compute_lr` runs gradient descent on :math:`f(w) = \\tfrac12(\\mu w_1^2 + L w_2^2)`
  in closed form, for the learning-rate explorer (convergence, oscillation, divergence
  and the :math:`2/L` boundary);
- :func:`minibatch_path` runs mini-batch SGD on a two-weight linear regression of the
  diabetes data, for the batch-size explorer, and :func:`epoch_times` measures the time
  of one epoch of a small MLP on the digits for several batch sizes.

``model.zero_grad()`` here clears the gradients of a backward pass used as a measurement (the gradient noise
of a batch size in :func:`batch_table`); nothing is updated, so it is not a training loop and does not go
through :func:`dlcourse.train.train_step`; the trainings go through ``fit``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import NamedTuple

import matplotlib.ticker
import numpy as np

from .._validate import as_seed, check_number, check_positive_int
from ..plotting import PALETTE, View, legend_outside
from .threads import single_threaded

# ------------------------------------------------------------------------- the learning-rate explorer
L_STEEP = 1.0          # curvature of the steep direction (w2): 2/L = 2
LR_START = np.array([-4.0, 2.0])


class LRData(NamedTuple):
    lr: float
    kappa: float
    curvatures: np.ndarray   # (mu, L)
    path: np.ndarray         # (steps + 1, 2)
    loss: np.ndarray         # (steps + 1,)
    factors: np.ndarray      # |1 - lr * lambda| for (mu, L)
    regime: str


def regime(lr: float, L: float = L_STEEP) -> str:
    """What gradient descent does along the steepest direction at learning rate ``lr``."""
    if lr < 1.0 / L:
        return "converges smoothly"
    if lr == 1.0 / L:
        return "jumps to the minimum of the steep direction in one step"
    if lr < 2.0 / L:
        return "converges while oscillating across the valley"
    if lr == 2.0 / L:
        return "oscillates for ever (|1 − ηL| = 1)"
    return "diverges"


def compute_lr(lr: float = 0.5, kappa: float = 10.0, steps: int = 40) -> LRData:
    r"""Gradient descent with learning rate ``lr`` on :math:`\tfrac12(\mu w_1^2 + L w_2^2)`, :math:`L/\mu = \kappa`.

    Each coordinate evolves independently, :math:`w_i \leftarrow (1 - \eta\lambda_i) w_i`, so
    the path is :math:`w_t = (1 - \eta\lambda)^t w_0`: it converges iff every
    :math:`|1 - \eta\lambda_i| < 1`, i.e. :math:`\eta < 2/L`.
    """
    lr = check_number(lr, "lr", low=0.0)
    kappa = check_number(kappa, "kappa", low=1.0)
    steps = check_positive_int(steps, "steps")
    lam = np.array([L_STEEP / kappa, L_STEEP])
    factor = 1.0 - lr * lam
    t = np.arange(steps + 1)[:, None]
    with np.errstate(over="ignore"):
        path = LR_START * factor ** t
        loss = 0.5 * (path ** 2 @ lam)
    return LRData(lr, kappa, lam, path, loss, np.abs(factor), regime(lr))


class LRView(View):
    """The path on the contours, the loss, and |1 − ηλ| against η with 1/L and 2/L marked."""

    ETAS = np.linspace(0, 2.5, 300)

    def key(self, d: LRData):
        return len(d.loss)

    def setup(self, fig, d: LRData) -> None:
        self.ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.3, 1, 1])
        ax1 = self.ax1
        self.grid = np.meshgrid(np.linspace(-5, 5, 100), np.linspace(-3, 3, 80))
        ax1.plot(0, 0, "*", color=PALETTE["yellow"], ms=12, mec="k", zorder=5)
        ax1.set_xlim(-5, 5)
        ax1.set_ylim(-3, 3)
        ax1.set_xlabel("w₁ (flat: λ = μ)")
        ax1.set_ylabel("w₂ (steep: λ = L)")
        self.path, = ax1.plot([], [], "o-", ms=3, lw=1, color=PALETTE["vermillion"])
        self.title = ax1.set_title(" ", fontsize=9)
        ax2.set_yscale("log")
        ax2.set_xlim(0, len(d.loss) - 1)
        ax2.set_ylim(1e-8, 1e6)
        ax2.set_xlabel("step")
        ax2.set_ylabel("f(w)")
        ax2.set_title("loss", fontsize=9)
        self.curve, = ax2.plot([], [], color=PALETTE["vermillion"])
        L = L_STEEP
        ax3.plot(self.ETAS, np.abs(1 - self.ETAS * L), color=PALETTE["blue"], label="steep direction |1 − ηL|")
        self.flat, = ax3.plot([], [], color=PALETTE["green"], label="flat direction |1 − ημ|")
        ax3.axhline(1, color="k", lw=0.6)
        ax3.axvspan(2 / L, 2.5, color=PALETTE["vermillion"], alpha=0.12)
        for eta, text in ((1 / L, "1/L"), (2 / L, "2/L")):
            ax3.axvline(eta, color="#777777", lw=0.8, ls="--")
            ax3.text(eta, 1.88, text, fontsize=9, ha="center", backgroundcolor="white")
        self.best = ax3.axvline(1, color=PALETTE["green"], lw=0.8, ls=":")
        self.best_text = ax3.text(1, 1.72, "2/(L+μ)", fontsize=9, ha="center", color=PALETTE["green"])
        ax3.set_xlim(0, 2.5)
        ax3.set_ylim(0, 2)
        ax3.set_xlabel("learning rate η")
        ax3.set_ylabel("shrink factor per step")
        legend_outside(ax3, "below")
        ax3.set_title("stable where both factors < 1", fontsize=9)
        self.now = ax3.axvline(d.lr, color=PALETTE["vermillion"], lw=2)

    def update(self, d: LRData) -> list:
        mu, L = d.curvatures
        x, y = self.grid
        rings = self.ax1.contour(x, y, 0.5 * (mu * x ** 2 + L * y ** 2), levels=np.geomspace(0.02, 20, 12),
                                 colors="#99aabb", linewidths=0.6)
        self.path.set_data(d.path[:, 0], d.path[:, 1])
        self.title.set_text(f"η = {d.lr:.2f}, κ = {d.kappa:g}: {d.regime}")
        self.curve.set_data(np.arange(len(d.loss)), np.clip(d.loss, 1e-300, 1e300))
        self.flat.set_data(self.ETAS, np.abs(1 - self.ETAS * mu))
        best = 2 / (L + mu)
        self.best.set_xdata([best, best])
        self.best_text.set_x(best)
        self.now.set_xdata([d.lr, d.lr])
        return self._swap("rings", [rings]) + [self.path, self.title, self.curve, self.flat, self.best,
                                               self.best_text, self.now]


# ------------------------------------------------------------------------- a tour of the difficulties
TOUR = (
    ("himmelblau", "several minima: the start decides", [(0.0, 0.0), (-1.0, -0.5), (0.5, -1.0), (-0.5, 1.0)],
     0.01, 200),
    ("saddle", "a saddle point: slow to leave", [(1.0, 1e-3), (1.0, -1e-2)], 0.05, 100),
    ("rosenbrock", "a curved, flat valley floor", [(-1.2, 1.0)], 0.001, 2000),
    ("ill_conditioned_bowl", "ill-conditioning: zig-zag", [(-4.0, 2.0)], 0.18, 60),
)


def landscape_tour(fig) -> dict:
    """Gradient descent on four landscapes that show what makes optimisation hard; returns the paths."""
    from ..optim import SGD
    from .race import race
    from .unit3_race import draw_paths

    axes = fig.subplots(1, len(TOUR))
    paths = {}
    for ax, (name, title, starts, lr, steps) in zip(axes, TOUR):
        runs = {f"start {i + 1}": race(name, {"GD": lambda p: SGD(p, lr=lr)}, x0=x0, steps=steps).trajectories["GD"]
                for i, x0 in enumerate(starts)}
        draw_paths(ax, name, runs, title)
        ax.get_legend().remove()
        ax.set_xticks([])
        ax.set_yticks([])
        paths[name] = runs
    return paths


# ------------------------------------------------------------------------- mini-batch noise
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 442)
MB_FEATURES = ("bmi", "s5")
MB_START = np.array([-1.0, 1.5])


@lru_cache(maxsize=1)
def diabetes_two_features():
    """Standardised body-mass index and s5 (a blood serum measure) and the standardised target."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    cols = [d.feature_names.index(f) for f in MB_FEATURES]
    X = d.data[:, cols]
    X = (X - X.mean(0)) / X.std(0)
    y = (d.target - d.target.mean()) / d.target.std()
    w_star = np.linalg.solve(X.T @ X, X.T @ y)
    return X, y, w_star, regression_loss(X, y, w_star)


def regression_loss(X, y, w) -> np.ndarray:
    r""":math:`\tfrac{1}{2N}\|y - Xw\|^2` for ``w`` of shape ``(2,)`` or ``(..., 2)``."""
    r = y - np.asarray(w) @ X.T
    return 0.5 * np.mean(r ** 2, axis=-1)


class MinibatchData(NamedTuple):
    batch_size: int
    lr: float
    epochs: int
    path: np.ndarray       # (updates + 1, 2)
    epoch_of: np.ndarray   # (updates + 1,): epochs elapsed at each point
    gap: np.ndarray        # full-data loss minus the optimum, at each point
    full_path: np.ndarray  # full-batch gradient descent, one point per epoch
    full_gap: np.ndarray
    w_star: np.ndarray
    times: dict            # batch size -> seconds per epoch of the digits MLP


@lru_cache(maxsize=64)
def minibatch_path(batch_size: int, lr: float, epochs: int = 4, rng=0):
    r"""Mini-batch SGD on the two-feature regression: ``(path, epochs elapsed at each point)``.

    The data are reshuffled every epoch (seeded); the last batch of an epoch may be smaller.
    Stays outside :func:`dlcourse.train.fit` (issue 14): the lesson is this update itself,
    :math:`w \leftarrow w + \eta X_B^\top (y_B - X_B w)/|B|`, drawn point by point on the loss
    contours of two weights (``fit`` reports once per epoch).
    """
    seed = as_seed(rng, "rng")
    X, y, _, _ = diabetes_two_features()
    n = len(X)
    rng = np.random.default_rng(seed)
    w = MB_START.copy()
    path, when = [w.copy()], [0.0]
    for e in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            Xb = X[idx]
            w = w + lr * (Xb.T @ (y[idx] - Xb @ w)) / len(idx)
            path.append(w)
            when.append(e + min(s + batch_size, n) / n)
    return np.array(path), np.array(when)


def compute_minibatch(batch_size: int = 16, lr: float = 0.1, epochs: int = 4, rng=0,
                      measure_times: bool = True) -> MinibatchData:
    seed = as_seed(rng, "rng")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    X, y, w_star, best = diabetes_two_features()
    path, when = minibatch_path(min(batch_size, len(X)), lr, epochs, seed)
    full, _ = minibatch_path(len(X), lr, epochs, seed)
    times = epoch_times() if measure_times else {}
    return MinibatchData(batch_size, lr, epochs, path, when, regression_loss(X, y, path) - best, full,
                         regression_loss(X, y, full) - best, w_star, times)


@lru_cache(maxsize=1)
@single_threaded
def epoch_times(batch_sizes=(1, 4, 16, 64, 256, 1347), max_batches: int = 60, rng=0) -> dict:
    """Seconds per epoch of SGD on a 64-32-10 ReLU MLP on 1347 digits, for each batch size.

    Each is measured on at most ``max_batches`` batches (the best of three tries) and scaled
    to a whole epoch of ``ceil(1347 / batch size)`` batches.
    """
    seed = as_seed(rng, "rng")
    from ..data import load_digits
    from ..mlp import make_mlp
    from ..optim import SGD
    from ..train import train_step

    X, y = load_digits()
    X, y = X[:1347], y[:1347]
    out = {}
    for b in batch_sizes:
        model = make_mlp(64, [32], 10, activation="relu", rng=seed)
        n_batches = -(-len(X) // b)
        k = min(n_batches, max_batches)
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            opt = SGD(model.parameters(), lr=0.01)
            for i in range(k):
                s = (i * b) % len(X)
                train_step(model, X[s:s + b], y[s:s + b], "cross_entropy", opt)
            best = min(best, time.perf_counter() - start)
        out[b] = best * n_batches / k
    return out


class MinibatchView(View):
    """Paths on the loss contours, loss against epochs, and the measured time per epoch."""

    def key(self, d: MinibatchData):
        return (d.epochs, tuple(d.times))

    def setup(self, fig, d: MinibatchData) -> None:
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
        X, y, w_star, best = diabetes_two_features()
        g1, g2 = np.meshgrid(np.linspace(-1.5, 1.5, 90), np.linspace(-1.0, 2.0, 90))
        W = np.stack([g1, g2], -1)
        ax1.contour(g1, g2, regression_loss(X, y, W) - best, levels=np.geomspace(0.005, 3, 12),
                    colors="#99aabb", linewidths=0.6)
        ax1.plot(*w_star, "*", color=PALETTE["yellow"], ms=12, mec="k", zorder=5)
        ax1.set_xlabel("weight of body-mass index")
        ax1.set_ylabel("weight of s5")
        self.full, = ax1.plot([], [], "o-", ms=3, lw=1.5, color=PALETTE["blue"], label="full batch (GD)")
        self.path, = ax1.plot([], [], lw=0.8, color=PALETTE["vermillion"], label="mini-batch")
        ax1.legend(fontsize=9, loc="lower right")
        ax1.set_xlim(-1.5, 1.5)
        ax1.set_ylim(-1.0, 2.0)
        self.title = ax1.set_title(" ", fontsize=9)
        ax2.set_yscale("log")
        ax2.set_xlim(0, d.epochs)
        ax2.set_ylim(1e-6, 10)
        ax2.set_xlabel("epochs (passes over the 442 patients)")
        ax2.set_ylabel("loss − best loss")
        ax2.set_title("loss after each update", fontsize=9)
        self.full_curve, = ax2.plot([], [], "o-", ms=3, color=PALETTE["blue"])
        self.curve, = ax2.plot([], [], lw=0.8, color=PALETTE["vermillion"])
        if d.times:
            sizes = np.array(list(d.times))
            ms = 1000 * np.array(list(d.times.values()))
            ax3.loglog(sizes, ms, "o-", color=PALETTE["green"])
            ax3.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            for b, t in zip(sizes, ms):
                ax3.annotate(f"{int(np.ceil(1347 / b))} upd.", (b, t), fontsize=9, textcoords="offset points",
                             xytext=(3, 4))
            ax3.set_xlabel("batch size")
            ax3.set_ylabel("ms per epoch")
            ax3.set_title("time per epoch, 64-32-10 MLP on digits", fontsize=9)
        else:
            ax3.axis("off")

    def update(self, d: MinibatchData) -> list:
        self.full.set_data(d.full_path[:, 0], d.full_path[:, 1])
        self.path.set_data(d.path[:, 0], d.path[:, 1])
        label = "full batch" if d.batch_size >= 442 else f"batch size {d.batch_size}"
        self.title.set_text(f"{label}: {len(d.path) - 1} updates in {d.epochs} epochs")
        self.full_curve.set_data(np.arange(len(d.full_gap)), np.maximum(d.full_gap, 1e-300))
        self.curve.set_data(d.epoch_of, np.maximum(d.gap, 1e-300))
        return [self.full, self.path, self.title, self.full_curve, self.curve]


__all__ = ["compute_lr", "LRView", "regime", "compute_minibatch", "MinibatchView", "minibatch_path",
           "epoch_times", "diabetes_two_features", "regression_loss"]


# ------------------------------------------------------------------------- the GD / SGD / mini-batch table
class BatchRow(NamedTuple):
    batch_size: int
    updates_per_epoch: int
    floats_per_step: int     # activations kept for the backward pass: batch x (64 + 32 + 10)
    gradient_noise: float    # mean ||g_batch - g_full|| / ||g_full|| at the start
    loss_after_epoch: float  # training loss after one epoch at the same learning rate
    seconds_per_epoch: float


@single_threaded
def batch_table(batch_sizes=(1, 32, 1347), lr: float = 0.05, samples: int = 50, rng=0) -> list:
    """Batch GD, SGD and mini-batch GD on the 64-32-10 network and 1347 training digits, measured.

    Every run starts from the same weights and uses the same learning rate; the time of an
    epoch is measured (best of two), so it changes a little from run to run.
    """
    seed = as_seed(rng, "rng")
    from ..data import load_digits
    from ..mlp import make_mlp, softmax_cross_entropy
    from ..optim import SGD
    from ..train import fit

    X, y = load_digits()
    X, y = X[:1347], y[:1347]
    rng = np.random.default_rng(seed)

    def gradient(model, idx):
        model.zero_grad()
        _, g = softmax_cross_entropy(model.forward(X[idx]), y[idx])
        model.backward(g)
        return np.concatenate([a.ravel() for a in model.gradients()])

    probe = make_mlp(64, [32], 10, activation="relu", rng=seed)
    full = gradient(probe, np.arange(len(X)))
    rows = []
    for b in batch_sizes:
        noise = np.mean([np.linalg.norm(gradient(probe, rng.choice(len(X), b, replace=False)) - full)
                         for _ in range(samples)]) / np.linalg.norm(full)
        best, loss = np.inf, np.nan
        for _ in range(2):
            model = make_mlp(64, [32], 10, activation="relu", rng=seed)
            start = time.perf_counter()
            fit(model, X, y, optimizer=SGD(model.parameters(), lr=lr), epochs=1, batch_size=b, rng=seed,
                progress=False)
            best = min(best, time.perf_counter() - start)
            loss = softmax_cross_entropy(model.forward(X), y)[0]
        rows.append(BatchRow(b, -(-len(X) // b), b * (64 + 32 + 10), float(noise), float(loss), best))
    return rows
