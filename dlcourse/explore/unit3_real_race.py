"""Does the 2-D race predict the real race? The same optimizers train a small network on the digits.

:func:`train_digits` trains a 64-32-10 ReLU network with one racer of
:data:`~dlcourse.explore.unit3_race.RACERS` (mini-batches for the first-order methods; the
full batch, flattened into one vector, for conjugate gradient and L-BFGS), and
:func:`run_real_race` does it for all of them, with a progress bar. :func:`compute_compare`
puts a 2-D race and the digits race side by side for the widget.

Conjugate gradient and L-BFGS (``_second_order``) stay outside :func:`dlcourse.train.fit`: they take a
function and its gradient on the flattened weights and evaluate both many times per step (line searches), not
an optimizer's ``step(grads)``; the first-order racers go through ``fit``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..mlp import make_mlp, softmax_cross_entropy
from ..plotting import View, legend_outside
from ..train import fit
from .threads import single_threaded
from .unit3_common import TextPanel
from .unit3_race import RACERS, RaceCache, compute_race, racer_style

# Learning rates for the network: the best of 1e-4 ... 1 (three per decade) by training loss
# after 8 epochs of batches of 64 (each rate trained with ``train_digits``); not the 2-D landscapes' rates.
DIGITS_HYPER = {
    "GD": {"lr": 1.0}, "Momentum": {"lr": 0.215, "momentum": 0.9}, "Nesterov": {"lr": 0.464, "momentum": 0.9},
    "Adagrad": {"lr": 0.215}, "RMSprop": {"lr": 0.0215, "alpha": 0.99}, "Adadelta": {"lr": 1.0, "rho": 0.9},
    "Adam": {"lr": 0.1, "beta1": 0.9}, "AdamW": {"lr": 0.1, "weight_decay": 0.01},
    "CG": {}, "L-BFGS": {"history": 10},
}
# Newton needs the 2410 x 2410 Hessian, and BFGS an n^3 update of a matrix of that size each step.
NOT_ON_A_NETWORK = ("Newton", "BFGS")


@lru_cache(maxsize=1)
def digits_data(rng=0):
    seed = as_seed(rng, "rng")
    from ..data import load_digits, train_test_split

    X, y = load_digits()
    return train_test_split(X, y, test_size=0.25, rng=seed)


class DigitsRun(NamedTuple):
    name: str
    loss: np.ndarray       # training loss after each pass over the data, (epochs + 1,)
    accuracy: float        # test accuracy at the end
    seconds: float


def _flat(model):
    params = model.parameters()
    shapes = [p.shape for p in params]
    sizes = [p.size for p in params]

    def set_flat(theta):
        for p, chunk in zip(params, np.split(theta, np.cumsum(sizes)[:-1])):
            p[...] = chunk.reshape(p.shape)

    def get_flat():
        return np.concatenate([p.ravel() for p in params])

    def grad_flat():
        return np.concatenate([g.ravel() for g in model.gradients()])

    return get_flat, set_flat, grad_flat, shapes


@single_threaded
def train_digits(racer: str, epochs: int = 8, batch_size: int = 64, hyper: dict | None = None,
                 rng=0) -> DigitsRun:
    """Train the 64-32-10 network with ``racer``; the loss is measured on the whole training set each epoch.

    A second-order method gets the same number of passes over the data: ``epochs`` full-batch
    gradient evaluations.
    """
    seed = as_seed(rng, "rng")
    import time

    if racer in NOT_ON_A_NETWORK:
        raise ValueError(f"{racer} does not scale to a network: its cost grows like n^2 or n^3 in the "
                         f"number of weights n; choose one of {[r for r in DIGITS_HYPER]}")
    Xtr, Xte, ytr, yte = digits_data()
    model = make_mlp(64, [32], 10, activation="relu", rng=seed)
    r = RACERS[racer]
    h = dict(r.defaults) | DIGITS_HYPER.get(racer, {}) | dict(hyper or {})
    start = time.perf_counter()

    def full_loss():
        return softmax_cross_entropy(model.forward(Xtr), ytr)[0]

    if r.second_order:
        losses = _second_order(model, r, h, epochs, Xtr, ytr)
    else:
        losses = [full_loss()]

        def record(epoch, history):
            losses.append(full_loss() if np.all(np.isfinite(model.parameters()[0])) else np.nan)

        fit(model, Xtr, ytr, optimizer=r.make(**h)(model.parameters()), epochs=epochs, batch_size=batch_size,
            rng=seed, progress=False, callbacks=[record])
    acc = float(np.mean(np.argmax(model.forward(Xte), axis=1) == yte))
    return DigitsRun(racer, np.array(losses), acc, time.perf_counter() - start)


def _second_order(model, racer, hyper, epochs, X, y) -> list:
    """Run a line-search method on the flattened weights with ``epochs`` full-gradient evaluations."""
    get_flat, set_flat, grad_flat, _ = _flat(model)
    evaluations, losses = [0], []

    def f(theta):
        set_flat(theta)
        return softmax_cross_entropy(model.forward(X), y)[0]

    def grad(theta):
        set_flat(theta)
        model.zero_grad()
        loss, g = softmax_cross_entropy(model.forward(X), y)
        model.backward(g)
        evaluations[0] += 1
        return grad_flat()

    theta0 = get_flat()
    trace = [(0, f(theta0))]

    def record(theta):
        trace.append((evaluations[0], f(theta)))
        return evaluations[0] >= epochs

    method = racer.make(**{k: v for k, v in hyper.items()})
    path = method(f, grad, theta0, epochs, callback=record)
    set_flat(path[-1])
    # the loss after each pass: the last iterate reached with at most that many evaluations
    evals, values = np.array([e for e, _ in trace]), np.array([v for _, v in trace])
    for k in range(epochs + 1):
        losses.append(float(values[evals <= max(k, 0)][-1]))
    return losses


def run_real_race(racers=None, epochs: int = 8, batch_size: int = 64, progress: bool = True) -> dict:
    """:func:`train_digits` for each racer (default: all that scale to a network), with a tqdm bar."""
    racers = [r for r in RACERS if r not in NOT_ON_A_NETWORK] if racers is None else list(racers)
    if progress:
        from .._progress import progress_bar

        racers_iter = progress_bar(racers, "training on the digits")
    else:
        racers_iter = racers
    out = {}
    for name in racers_iter:
        out[name] = train_digits(name, epochs, batch_size)
    return out


@lru_cache(maxsize=1)
def default_real_race() -> dict:
    """:func:`run_real_race` with its defaults, computed once per session (no progress bar)."""
    return run_real_race(progress=False)


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equally long sequences (ties broken by order)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    n = len(ra)
    return float(1 - 6 * np.sum((ra - rb) ** 2) / (n * (n * n - 1))) if n > 1 else float("nan")


class CompareData(NamedTuple):
    landscape: str
    names: tuple
    race: object          # RaceData
    digits: dict          # name -> DigitsRun
    rank_2d: dict
    rank_digits: dict
    rho: float


def compute_compare(digits: dict, landscape: str = "rosenbrock", cache: RaceCache | None = None) -> CompareData:
    """The 2-D race on ``landscape`` (each racer at its tuned rate) beside the digits runs of the same racers.

    ``cache`` (a :class:`~dlcourse.explore.unit3_race.RaceCache` the caller keeps) returns races seen before.
    """
    names = tuple(n for n in digits if n in RACERS)
    race = compute_race(landscape, names, steps=500, cache=cache)
    rank_2d = {r.name: r.rank for r in race.leaderboard}
    final = {n: digits[n].loss[-1] if np.isfinite(digits[n].loss[-1]) else np.inf for n in names}
    order = sorted(names, key=lambda n: final[n])
    rank_digits = {n: i + 1 for i, n in enumerate(order)}
    rho = spearman([rank_2d[n] for n in names], [rank_digits[n] for n in names])
    return CompareData(landscape, names, race, digits, rank_2d, rank_digits, rho)


class CompareView(View):
    """2-D race losses, digits training losses, and the two rankings side by side."""

    def key(self, d: CompareData):
        return (d.names, d.race.unbounded)

    def setup(self, fig, d: CompareData) -> None:
        gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 0.8])
        ax1, ax2, ax3 = (fig.add_subplot(gs[0, i]) for i in range(3))
        self.ax1 = ax1
        self.curves = {}
        for name in d.names:
            st = racer_style(name)
            self.curves[name], = ax1.plot(np.arange(501), np.ones(501), color=st["color"], ls=st["ls"], lw=1.2,
                                          label=name)
            run = d.digits[name]
            ax2.plot(np.arange(len(run.loss)), run.loss, marker="o", ms=2.5, color=st["color"], ls=st["ls"])
        if d.race.unbounded:
            ax1.set_yscale("symlog", linthresh=1.0)
            ax1.set_ylim(-1e6, 10)
            ax1.set_ylabel("f(x)")
        else:
            ax1.set_yscale("log")
            ax1.set_ylim(1e-14, 1e4)
            ax1.set_ylabel("f(x) − f*")
        ax1.set_xlim(0, 500)
        ax1.set_xlabel("step")
        self.title = ax1.set_title(" ", fontsize=9)
        legend_outside(ax1, "right")
        ax2.set_yscale("log")
        ax2.set_xlabel("passes over the training digits (epochs)")
        ax2.set_ylabel("training cross-entropy")
        ax2.set_title("the same racers on a 64-32-10 network", fontsize=9)
        self.board = TextPanel(fig, ax3, size=9)

    def update(self, d: CompareData) -> list:
        from .unit3_race import loss_gap

        for name, line in self.curves.items():
            line.set_ydata(loss_gap(d.race, name))
        self.title.set_text(f"2-D race on {d.landscape.replace('_', ' ')}")
        lines = [f"{'racer':<9}{'2-D':>5}{'digits':>8}", "-" * 22]
        for name in sorted(d.names, key=lambda n: d.rank_digits[n]):
            lines.append(f"{name:<9}{d.rank_2d[name]:>5}{d.rank_digits[name]:>8}")
        lines += ["", f"rank correlation {d.rho:+.2f}", "(+1: same order,", " 0: unrelated)"]
        return [*self.curves.values(), self.title, self.board.set_text("\n".join(lines))]


class Cost(NamedTuple):
    name: str
    state_per_weight: float  # floats kept between steps, per weight
    ms_per_step: float       # time of one update of n weights (the gradient given)


@single_threaded
def optimizer_costs(n: int = 1_000_000, repeats: int = 5, rng=0) -> list:
    """Memory and time of each first-order racer's update for ``n`` weights, measured.

    The memory is what the optimizer keeps in ``state`` (momentum buffers, averages),
    counted in floats per weight; the time is the median of ``repeats`` steps, without the
    gradient's own cost.
    """
    seed = as_seed(rng, "rng")
    import time

    rng = np.random.default_rng(seed)
    out = []
    for name, r in RACERS.items():
        if r.second_order:
            continue
        w, g = rng.normal(size=n), rng.normal(size=n)
        opt = r.make(**r.defaults)([w])
        opt.step([g])
        floats = sum(v.size for v in opt.state[0].values() if isinstance(v, np.ndarray))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            opt.step([g])
            times.append(time.perf_counter() - start)
        out.append(Cost(name, floats / n, 1000 * float(np.median(times))))
    return out
