"""Hyperparameter search on a real network (Unit 3, "Hyperparameter tuning").

The objective is the validation loss of the 64-32-10 network of
:mod:`dlcourse.explore.unit3_real_race` after three epochs of SGD with momentum, as a
function of :math:`\\log_{10}` learning rate and :math:`\\log_{10}` weight decay. Grid,
random and Bayesian search (a Gaussian process with expected improvement) each get the
same number of trials; :func:`lr_range_test` runs Smith's learning-rate range test.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..losses import cross_entropy
from ..mlp import make_mlp
from ..optim import SGD
from ..optim.tuning import ema, lr_range, suggest_lr
from ..train import fit, train_step
from .threads import single_threaded
from .unit3_real_race import digits_data

SPACE = (("log10 learning rate", -3.0, 0.5), ("log10 weight decay", -6.0, -1.0))
WORST = 3.0  # a diverged run scores this (the loss of guessing is about 2.3)


@lru_cache(maxsize=1024)
@single_threaded
def objective(log_lr: float, log_wd: float, epochs: int = 3, rng=0) -> float:
    """Validation cross-entropy after ``epochs`` of SGD (momentum 0.9, batches of 64) at these hyperparameters."""
    seed = as_seed(rng, "rng")
    Xtr, Xval, ytr, yval = digits_data()
    model = make_mlp(64, [32], 10, activation="relu", rng=seed)
    opt = SGD(model.parameters(), lr=10.0 ** log_lr, momentum=0.9, weight_decay=10.0 ** log_wd)
    with np.errstate(all="ignore"):
        fit(model, Xtr, ytr, optimizer=opt, epochs=epochs, batch_size=64, rng=seed, progress=False)
        loss = cross_entropy(model.forward(Xval), yval)
    return float(min(loss, WORST)) if np.isfinite(loss) else WORST


class Search(NamedTuple):
    name: str
    points: np.ndarray  # (n, 2): log10 lr, log10 weight decay, in the order tried
    values: np.ndarray  # (n,)

    @property
    def best_so_far(self) -> np.ndarray:
        return np.minimum.accumulate(self.values)

    @property
    def best(self) -> tuple[np.ndarray, float]:
        i = int(np.argmin(self.values))
        return self.points[i], float(self.values[i])


def _evaluate(name, points) -> Search:
    points = np.asarray(points, dtype=float)
    return Search(name, points, np.array([objective(round(a, 6), round(b, 6)) for a, b in points]))


def grid_search(per_axis: int = 4) -> Search:
    """``per_axis`` values per hyperparameter, every combination, row by row."""
    axes = [np.linspace(low, high, per_axis) for _, low, high in SPACE]
    return _evaluate("grid", [(a, b) for a in axes[0] for b in axes[1]])


def random_search(n: int = 16, rng=0) -> Search:
    """``n`` points drawn uniformly in the (log) box: every trial tries a new learning rate."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    return _evaluate("random", np.column_stack([rng.uniform(low, high, n) for _, low, high in SPACE]))


@single_threaded
def bayesian_search(n: int = 16, n_init: int = 4, rng=0, candidates: int = 2000) -> Search:
    r"""Gaussian-process Bayesian optimisation with expected improvement.

    After ``n_init`` random trials, each next point maximises

    .. math::
        \mathrm{EI}(x) = (f^* - \mu(x))\,\Phi(z) + \sigma(x)\,\varphi(z), \qquad
        z = \frac{f^* - \mu(x)}{\sigma(x)}

    over ``candidates`` random points, where :math:`\mu, \sigma` are the posterior mean and
    standard deviation of a GP (Matérn 5/2 kernel plus noise) fitted to the trials so far
    and :math:`f^*` the best value found.
    """
    seed = as_seed(rng, "rng")
    import warnings

    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    rng = np.random.default_rng(seed)
    low = np.array([s[1] for s in SPACE])
    high = np.array([s[2] for s in SPACE])
    first = random_search(n_init, seed)
    points, values = list(first.points), list(first.values)
    kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * Matern([1.0, 1.0], (0.05, 20.0), nu=2.5)
              + WhiteKernel(1e-3, (1e-6, 1e-1)))
    while len(points) < n:
        gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
        with warnings.catch_warnings():  # a few points rarely pin down every length scale
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(np.array(points), np.array(values))
        cand = low + (high - low) * rng.random((candidates, 2))
        mu, sd = gp.predict(cand, return_std=True)
        z = (min(values) - mu) / np.maximum(sd, 1e-12)
        ei = (min(values) - mu) * norm.cdf(z) + sd * norm.pdf(z)
        x = cand[int(np.argmax(ei))]
        points.append(x)
        values.append(objective(round(x[0], 6), round(x[1], 6)))
    return Search("Bayesian", np.array(points), np.array(values))


class RangeTest(NamedTuple):
    lrs: np.ndarray
    losses: np.ndarray    # the loss of each mini-batch, before its step
    smoothed: np.ndarray
    steepest: float
    min_over_10: float


@single_threaded
def lr_range_test(lr_min: float = 1e-4, lr_max: float = 10.0, steps: int = 120, batch_size: int = 32,
                  beta: float = 0.9, momentum: float = 0.9, rng=0) -> RangeTest:
    """Train the 64-32-10 network for ``steps`` mini-batches, the learning rate growing from ``lr_min`` to ``lr_max``.

    The run stops early once the smoothed loss exceeds four times its minimum (it has
    blown up); :func:`dlcourse.optim.tuning.suggest_lr` reads the result.
    """
    seed = as_seed(rng, "rng")
    Xtr, _, ytr, _ = digits_data()
    model = make_mlp(64, [32], 10, activation="relu", rng=seed)
    lrs = lr_range(lr_min, lr_max, steps)
    opt = SGD(model.parameters(), lr=float(lrs[0]), momentum=momentum)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(Xtr)) for _ in range(steps * batch_size // len(Xtr) + 1)])
    losses = []
    with np.errstate(all="ignore"):
        for k, lr in enumerate(lrs):
            idx = order[k * batch_size:(k + 1) * batch_size]
            opt.lr = float(lr)
            losses.append(train_step(model, Xtr[idx], ytr[idx], "cross_entropy", opt).loss)
            smoothed = ema(losses, beta)
            if not np.isfinite(losses[-1]) or smoothed[-1] > 4 * smoothed.min():
                break
    losses = np.array(losses)
    smoothed = ema(np.where(np.isfinite(losses), losses, 1e6), beta)
    steepest, tenth = suggest_lr(lrs[:len(losses)], smoothed)
    return RangeTest(lrs[:len(losses)], losses, smoothed, steepest, tenth)


def plot_searches(fig, searches) -> None:
    """Where each search tried (colour: validation loss, star: best), and the best loss found so far."""
    axes = fig.subplots(1, len(searches) + 1, width_ratios=[1] * len(searches) + [1.3])
    vmin = min(s.values.min() for s in searches)
    for ax, s in zip(axes, searches):
        sc = ax.scatter(s.points[:, 0], s.points[:, 1], c=s.values, cmap="viridis_r", vmin=vmin, vmax=1.0, s=30,
                        edgecolors="k", linewidths=0.4)
        best, value = s.best
        ax.plot(*best, "*", color="#D55E00", ms=14, mec="k")
        ax.set_xlim(SPACE[0][1] - 0.2, SPACE[0][2] + 0.2)
        ax.set_ylim(SPACE[1][1] - 0.3, SPACE[1][2] + 0.3)
        ax.set_xlabel(SPACE[0][0])
        ax.set_title(f"{s.name} search, {len(s.values)} trials\nbest {value:.3f}", fontsize=9)
    axes[0].set_ylabel(SPACE[1][0])
    fig.colorbar(sc, ax=list(axes[:len(searches)]), shrink=0.8, label="validation loss")
    ax = axes[-1]
    for s in searches:
        ax.plot(np.arange(1, len(s.values) + 1), s.best_so_far, "o-", ms=3, label=s.name)
    ax.set_xlabel("trials")
    ax.set_ylabel("best validation loss so far")
    ax.set_ylim(0.2, 1.0)
    ax.legend(fontsize=9)


def plot_range_test(ax, rt: RangeTest) -> None:
    """The loss of each mini-batch against the learning rate, smoothed, with the two suggestions."""
    ax.semilogx(rt.lrs, rt.losses, color="#BBBBBB", lw=0.8, label="loss of each batch")
    ax.semilogx(rt.lrs, rt.smoothed, color="#0072B2", lw=2, label="smoothed (bias-corrected EMA)")
    for lr, text, colour, ha in ((rt.steepest, "steepest descent", "#009E73", "left"),
                                 (rt.min_over_10, "minimum / 10", "#D55E00", "right")):
        ax.axvline(lr, color=colour, ls="--", lw=1)
        pad = " " if ha == "left" else ""
        ax.text(lr, 2.9, f"{pad}{text} {pad}\n{pad}{lr:.3g} ", color=colour, fontsize=9, va="top", ha=ha)
    ax.set_ylim(0, 3.2)
    ax.set_xlabel("learning rate (raised every mini-batch)")
    ax.set_ylabel("cross-entropy")
    ax.legend(fontsize=9, loc="lower left")
