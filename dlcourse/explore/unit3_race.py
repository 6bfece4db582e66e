"""The optimizer race: who reaches the bottom of a 2-D landscape first (Unit 3, "The optimizer race").

:data:`RACERS` names every contestant with the hyperparameters a student may tune;
:func:`compute_race` runs the selected ones (each run cached, so that moving the step
scrubber or one optimizer's learning rate recomputes nothing else) and :class:`RaceView`
draws the contour plot with the trajectories, the loss against the step, and the
leaderboard. A student's optimizer joins with ``extra={"mine": MyOptimizer}``.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_seed
from ..landscapes import LANDSCAPES, Landscape, noisy
from ..optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, bfgs, conjugate_gradient, lbfgs, newton
from .race import Leaderboard, LeaderboardRow, race
from ..plotting import CYCLE, PALETTE, View, colorbar, legend_outside
from .unit3_common import TextPanel


class Hyper(NamedTuple):
    """A tunable hyperparameter: constructor keyword, label, slider range."""
    name: str
    label: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


LR = Hyper("lr", "learning rate", 1e-5, 10.0, log=True)
MOMENTUM = Hyper("momentum", "momentum μ", 0.0, 0.99)


class Racer(NamedTuple):
    """A contestant: ``make(**hyper)`` gives what :func:`dlcourse.explore.race.race` accepts."""
    name: str
    make: Callable
    hypers: tuple
    defaults: dict
    second_order: bool = False
    ident: object = None  # what tells two racers of the same name apart (a student's class)


def _first(cls, **fixed):
    return lambda **h: (lambda p: cls(p, **fixed, **_unpack(h)))


def _unpack(h: dict) -> dict:
    """Adam's ``beta1`` slider is the first of torch's ``betas`` pair."""
    h = dict(h)
    if "beta1" in h:
        h["betas"] = (h.pop("beta1"), 0.999)
    return h


RACERS: dict[str, Racer] = {r.name: r for r in [
    Racer("GD", _first(SGD), (LR,), {"lr": 1e-3}),
    Racer("Momentum", _first(SGD), (LR, MOMENTUM), {"lr": 1e-3, "momentum": 0.9}),
    Racer("Nesterov", _first(SGD, nesterov=True), (LR, Hyper("momentum", "momentum μ", 0.01, 0.99)),
          {"lr": 1e-3, "momentum": 0.9}),
    Racer("Adagrad", _first(Adagrad), (LR,), {"lr": 0.5}),
    Racer("RMSprop", _first(RMSprop), (LR, Hyper("alpha", "α (average of g²)", 0.5, 0.999)),
          {"lr": 0.01, "alpha": 0.99}),
    Racer("Adadelta", _first(Adadelta), (LR, Hyper("rho", "ρ", 0.5, 0.999)), {"lr": 1.0, "rho": 0.9}),
    Racer("Adam", _first(Adam), (LR, Hyper("beta1", "β₁", 0.0, 0.99)), {"lr": 0.05, "beta1": 0.9}),
    Racer("AdamW", _first(AdamW), (LR, Hyper("weight_decay", "weight decay λ", 0.0, 1.0)),
          {"lr": 0.05, "weight_decay": 0.01}),
    Racer("Newton", lambda: newton, (), {}, True),
    Racer("CG", lambda: conjugate_gradient, (), {}, True),
    Racer("BFGS", lambda: bfgs, (), {}, True),
    Racer("L-BFGS", lambda history: partial(lbfgs, history=int(history)),
          (Hyper("history", "history m", 1, 20, integer=True),), {"history": 10}, True),
]}

# The best learning rate of each first-order racer on each landscape, on a grid of three
# values per decade from 1e-4 to 10 (fewest steps until f - f* stays <= 1e-6, then lowest final
# loss, without diverging or leaving the plot; 500 steps from the landscape's start), as
# ``tune_learning_rate`` finds them; tests/test_widgets_unit3.py re-runs the sweep for two.
# The saddle has no minimum to race to: its rates are simply ones that show the escape.
TUNED_LR = {
    "rosenbrock": {"GD": 0.00464, "Momentum": 0.00215, "Nesterov": 0.001, "Adagrad": 2.15, "RMSprop": 0.215,
                   "Adadelta": 1.0, "Adam": 1.0, "AdamW": 0.215},
    "beale": {"GD": 0.0215, "Momentum": 0.00464, "Nesterov": 0.00464, "Adagrad": 2.15, "RMSprop": 0.0464,
              "Adadelta": 2.15, "Adam": 0.464, "AdamW": 0.464},
    "himmelblau": {"GD": 0.0215, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 1.0, "RMSprop": 0.1,
                   "Adadelta": 1.0, "Adam": 0.464, "AdamW": 1.0},
    "saddle": {"GD": 0.05, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.1, "RMSprop": 0.01,
               "Adadelta": 1.0, "Adam": 0.01, "AdamW": 0.01},
    "ill_conditioned_bowl": {"GD": 0.1, "Momentum": 0.01, "Nesterov": 0.1, "Adagrad": 4.64, "RMSprop": 0.1,
                             "Adadelta": 4.64, "Adam": 0.215, "AdamW": 4.64},
    "booth": {"GD": 0.1, "Momentum": 0.01, "Nesterov": 0.0464, "Adagrad": 10.0, "RMSprop": 0.215,
              "Adadelta": 10.0, "Adam": 0.464, "AdamW": 4.64},
    "matyas": {"GD": 1.0, "Momentum": 1.0, "Nesterov": 1.0, "Adagrad": 2.15, "RMSprop": 0.0464,
               "Adadelta": 10.0, "Adam": 1.0, "AdamW": 10.0},
}

# Gradient noise at "noise = 1", per landscape (about a tenth of a typical gradient).
NOISE_SCALE = {"rosenbrock": 20.0, "beale": 2.0, "himmelblau": 10.0, "saddle": 0.5, "ill_conditioned_bowl": 2.0,
               "booth": 5.0, "matyas": 0.5}

RACE_LANDSCAPES = ("rosenbrock", "beale", "himmelblau", "saddle", "ill_conditioned_bowl", "booth", "matyas")
DEFAULT_RACERS = ("GD", "Momentum", "Nesterov", "RMSprop", "Adam", "L-BFGS")


def racer_from_class(name: str, cls: Callable, hyper: dict | None = None) -> Racer:
    """A :class:`Racer` for a student's optimizer class (or factory ``params -> optimizer``).

    If the constructor takes ``lr``, the learning-rate slider tunes it, starting from
    ``hyper["lr"]``, else the constructor's default (0.01 if it has none).
    """
    if not callable(cls):
        raise TypeError(f"extra[{name!r}] must be an optimizer class such as MyAdam, got {type(cls).__name__}")
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        params = {}
    if "lr" in params:
        default = params["lr"].default
        lr = float(default) if isinstance(default, (int, float)) and default > 0 else 0.01
        lr = float((hyper or {}).get("lr", lr))
        return Racer(name, lambda lr: (lambda p: cls(p, lr=lr)), (LR,), {"lr": lr}, ident=id(cls))
    return Racer(name, lambda: cls, (), {}, ident=id(cls))


def default_hyper(racer: Racer, landscape: str) -> dict:
    """The racer's hyperparameters on ``landscape``: its defaults, with the tuned learning rate if known."""
    h = dict(racer.defaults)
    if "lr" in h and racer.name in TUNED_LR.get(landscape, {}):
        h["lr"] = TUNED_LR[landscape][racer.name]
    return h


# ----------------------------------------------------------------------------------- running
class Run(NamedTuple):
    """One racer's run: its path, the loss along it, gradient evaluations and leaderboard row."""
    path: np.ndarray
    loss: np.ndarray
    evaluations: np.ndarray
    row: LeaderboardRow


def make_landscape(name: str, noise: float = 0.0, rng=0) -> Landscape:
    """The landscape called ``name``, with gradient noise ``noise * NOISE_SCALE[name]`` if ``noise > 0``."""
    seed = as_seed(rng, "rng")
    if name not in LANDSCAPES:
        raise ValueError(f"landscape must be one of {sorted(LANDSCAPES)}, got {name!r}")
    base = LANDSCAPES[name]
    return noisy(base, sigma=noise * NOISE_SCALE.get(name, 1.0), rng=seed) if noise > 0 else base


class RaceCache:
    """Runs keyed by everything that determines them (least recently used ones are dropped)."""

    def __init__(self, size: int = 512):
        self.size, self.runs = size, OrderedDict()

    def run(self, landscape: str, noise: float, x0: tuple, steps: int, racer: Racer, hyper: dict, tol: float) -> Run:
        key = (landscape, noise, x0, steps, tol, racer.name, racer.ident, tuple(sorted(hyper.items())))
        if key in self.runs:
            self.runs.move_to_end(key)
            return self.runs[key]
        land = make_landscape(landscape, noise)
        res = race(land, {racer.name: racer.make(**hyper)}, x0=np.array(x0), steps=steps, tol=tol)
        run = Run(res.trajectories[racer.name], res.losses[racer.name], res.evaluations[racer.name],
                  res.leaderboard[0])
        self.runs[key] = run
        if len(self.runs) > self.size:
            self.runs.popitem(last=False)
        return run


class RaceData(NamedTuple):
    landscape: str
    noise: float
    x0: tuple
    steps: int
    step: int
    names: tuple
    runs: dict
    leaderboard: Leaderboard
    unbounded: bool
    tol: float
    failed: dict = {}  # a student's racer that raised -> what went wrong


def compute_race(landscape: str = "rosenbrock", racers=DEFAULT_RACERS, hyper: dict | None = None,
                 x0=None, steps: int = 500, step: int | None = None, noise: float = 0.0,
                 extra: dict | None = None, tol: float = 1e-6, cache: RaceCache | None = None) -> RaceData:
    """Race ``racers`` (names in :data:`RACERS` or ``extra``) on ``landscape``.

    ``hyper`` maps a racer's name to its hyperparameters (missing ones: :func:`default_hyper`);
    ``step`` is the step the scrubber shows (default: the last). A racer from ``extra`` that
    raises (a stub not written yet, a bug) is left out and reported in ``failed``. ``cache`` (a
    :class:`RaceCache` the caller keeps, as the race widget does) returns runs seen before; without
    one every run is computed.
    """
    table = all_racers(extra)
    unknown = [n for n in racers if n not in table]
    if unknown:
        raise ValueError(f"unknown racer(s) {unknown}; choose from {list(table)}")
    land = make_landscape(landscape)
    x0 = tuple(float(v) for v in (land.start if x0 is None else x0))
    cache = RaceCache() if cache is None else cache
    runs, failed = {}, {}
    for name in racers:
        h = default_hyper(table[name], landscape) | dict((hyper or {}).get(name, {}))
        try:
            runs[name] = cache.run(landscape, float(noise), x0, int(steps), table[name], h, tol)
        except Exception as exc:  # noqa: BLE001 - a student's optimizer must not break the race
            if name in RACERS:
                raise
            failed[name] = ("not written yet" if isinstance(exc, NotImplementedError)
                            else f"raised {type(exc).__name__}: {exc}")
    board = rank_runs(runs, np.isinf(land.min_value))
    step = steps if step is None else int(min(max(step, 0), steps))
    return RaceData(landscape, float(noise), x0, int(steps), step, tuple(runs), runs, board,
                    bool(np.isinf(land.min_value)), tol, failed)


def all_racers(extra: dict | None = None) -> dict:
    """:data:`RACERS` plus the student's optimizers in ``extra``.

    Each value of ``extra`` is an optimizer class, a pair ``(class, {"lr": start})``, or a
    :class:`Racer`.
    """
    table = dict(RACERS)
    for name, spec in (extra or {}).items():
        if isinstance(spec, Racer):
            table[name] = spec
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict):
            table[name] = racer_from_class(name, *spec)
        else:
            table[name] = racer_from_class(name, spec)
    return table


def rank_runs(runs: dict, unbounded: bool = False) -> Leaderboard:
    """Rank the runs' rows; on a landscape unbounded below (the saddle), leaving the box is winning."""
    rows = [run.row for run in runs.values()]
    if not unbounded:
        return Leaderboard.from_rows(rows)
    ordered = sorted(rows, key=lambda r: (not r.diverged, r.final_loss if np.isfinite(r.final_loss) else np.inf))
    return Leaderboard(r._replace(rank=i + 1) for i, r in enumerate(ordered))


def tune_learning_rate(landscape: str, racer: str, grid=None, steps: int = 500, tol: float = 1e-6) -> float:
    """The learning rate of ``grid`` (default 1e-4 to 10, three per decade) that wins a race against itself.

    A run that leaves the landscape's plotting box enlarged by half on each side counts as
    diverged: it would vanish from the contour plot.
    """
    grid = np.round(np.logspace(-4, 1, 16), 10) if grid is None else grid
    r, land = RACERS[racer], make_landscape(landscape)
    contestants = {f"{lr:.10g}": r.make(**(r.defaults | {"lr": float(lr)})) for lr in grid}
    res = race(land, contestants, steps=steps, tol=tol)
    (x0, x1), (y0, y1) = land.xlim, land.ylim
    lo = np.array([x0 - (x1 - x0) / 2, y0 - (y1 - y0) / 2])
    hi = np.array([x1 + (x1 - x0) / 2, y1 + (y1 - y0) / 2])

    def inside(name):
        path = res.trajectories[name]
        return bool(np.all((path >= lo) & (path <= hi)))

    rows = [r._replace(diverged=r.diverged or not inside(r.name)) for r in res.leaderboard]
    return float(Leaderboard.from_rows(rows)[0].name)


# ----------------------------------------------------------------------------------- drawing
def racer_style(name: str) -> dict:
    """A fixed colour (and dashes for second-order methods) per racer, whatever the selection."""
    names = list(RACERS)
    i = names.index(name) if name in names else len(names) + sum(map(ord, name))
    style = {"color": CYCLE[i % len(CYCLE)], "ls": "-"}
    if name in RACERS and RACERS[name].second_order:
        style["ls"] = "--"
    elif name not in RACERS:
        style.update(color=PALETTE["black"], ls=":")
    return style


def _levels(land: Landscape, Z: np.ndarray):
    if np.isinf(land.min_value):
        return np.linspace(Z.min(), Z.max(), 21), Z
    gap = np.maximum(Z - land.min_value, 1e-12)
    return np.linspace(np.log10(gap.min()), np.log10(gap.max()), 25), np.log10(gap)


def loss_top(land: Landscape) -> float:
    """A round upper limit for the loss panel: a power of ten above f − f* everywhere in the plot box."""
    _, _, Z = land.grid(60)
    top = np.max(np.abs(Z - (0.0 if np.isinf(land.min_value) else land.min_value)))
    return float(10 ** np.ceil(np.log10(top + 1e-300)))


def loss_gap(data: RaceData, name: str) -> np.ndarray:
    """What the loss panel plots: f − f* (or f itself on a landscape unbounded below)."""
    land = make_landscape(data.landscape)
    loss = data.runs[name].loss
    return loss if data.unbounded else np.maximum(loss - land.min_value, 1e-16)


class RaceView(View):
    """Contour plot with trajectories, loss against step, and the leaderboard."""

    def key(self, d: RaceData):
        return (d.landscape, d.steps, d.names)

    def setup(self, fig, d: RaceData) -> None:
        gs = fig.add_gridspec(1, 3, width_ratios=[1.15, 1, 0.95])
        self.ax, self.ax_loss, self.ax_board = (fig.add_subplot(gs[0, i]) for i in range(3))
        land = make_landscape(d.landscape)
        X, Y, Z = land.grid(150)
        levels, ZZ = _levels(land, Z)
        colorbar(self.ax, self.ax.contourf(X, Y, ZZ, levels=levels, cmap="Blues_r", alpha=0.35), label="loss (dark: low)",
                 ticks=[])
        self.ax.contour(X, Y, ZZ, levels=levels[::2], colors="#8899aa", linewidths=0.4)
        if len(land.minima):
            self.ax.plot(*land.minima.T, "*", color=PALETTE["yellow"], ms=12, mec="k", zorder=4)
        self.ax.set_xlim(*land.xlim)
        self.ax.set_ylim(*land.ylim)
        self.ax.set_title(d.landscape.replace("_", " "), fontsize=9)
        self.lines, self.dots, self.curves = {}, {}, {}
        for name in d.names:
            st = racer_style(name)
            self.lines[name], = self.ax.plot([], [], lw=1.4, color=st["color"], ls=st["ls"], label=name)
            self.dots[name], = self.ax.plot([], [], "o", ms=5, color=st["color"], mec="k", mew=0.5)
            self.curves[name], = self.ax_loss.plot(np.arange(d.steps + 1), np.full(d.steps + 1, np.nan),
                                                   lw=1.2, color=st["color"], ls=st["ls"])
        self.start_dot, = self.ax.plot([], [], "s", color="k", ms=5)
        legend_outside(self.ax, "below", ncol=3)
        self._setup_loss(d, loss_top(land))
        self.board = TextPanel(fig, self.ax_board, size=9)

    def _setup_loss(self, d: RaceData, top: float) -> None:
        ax = self.ax_loss
        ax.set_xlim(0, d.steps)
        if d.unbounded:
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(-1e6, top)
            ax.set_ylabel("f(x)")
        else:
            ax.set_yscale("log")
            ax.set_ylim(1e-14, top)
            ax.set_ylabel("f(x) − f*")
        ax.axhline(d.tol, color="#999999", lw=0.6, ls=":")
        ax.set_xlabel("step")
        self.marker = ax.axvline(d.step, color="k", lw=0.8)
        ax.set_title("loss against step", fontsize=9)

    def update(self, d: RaceData) -> list:
        k = d.step
        for name in d.names:
            path = d.runs[name].path
            self.lines[name].set_data(path[:k + 1, 0], path[:k + 1, 1])
            last = path[:k + 1][~np.isnan(path[:k + 1, 0])][-1:]
            self.dots[name].set_data(last[:, 0], last[:, 1])
            self.curves[name].set_ydata(loss_gap(d, name))
        self.start_dot.set_data([d.x0[0]], [d.x0[1]])
        self.marker.set_xdata([k, k])
        return ([*self.curves.values(), self.marker, *self.lines.values(), *self.dots.values(),
                 self.start_dot, self.board.set_text(format_board(d))])


def format_board(d: RaceData) -> str:
    """The leaderboard as monospace text: rank, racer, steps and gradient evaluations to tol, final loss."""
    lost = "escaped" if d.unbounded else "diverged"
    lines = [f"{'':3}{'racer':<9}{'steps':>6}{'evals':>6}{'final f':>10}", "-" * 34]
    for r in d.leaderboard:
        evals = d.runs[r.name].evaluations
        steps = "-" if r.steps_to_tol is None else str(r.steps_to_tol)
        ev = "-" if r.steps_to_tol is None else str(int(evals[r.steps_to_tol]))
        final = lost if r.diverged else f"{r.final_loss:.2e}"
        lines.append(f"{r.rank:<3}{r.name[:9]:<9}{steps:>6}{ev:>6}{final:>10}")
    lines += [f"    {name[:9]:<9} {why[:40]}" for name, why in d.failed.items()]
    lines += ["", f"steps / evals: to reach f − f* ≤ {d.tol:g}" if not d.unbounded
              else "unbounded below: the lowest f wins", f"start ({d.x0[0]:.2f}, {d.x0[1]:.2f})"
              + (f", gradient noise {d.noise:g}" if d.noise else "")]
    return "\n".join(lines)


def draw_paths(ax, landscape, trajectories: dict, title: str = "") -> None:
    """Contours of ``landscape`` (a Landscape or a name) with each trajectory ``{name: (k, 2) array}`` on top."""
    land = make_landscape(landscape) if isinstance(landscape, str) else landscape
    X, Y, Z = land.grid(150)
    levels, ZZ = _levels(land, Z)
    ax.contour(X, Y, ZZ, levels=levels[::2], colors="#8899aa", linewidths=0.5)
    if len(land.minima):
        ax.plot(*land.minima.T, "*", color=PALETTE["yellow"], ms=11, mec="k", zorder=4)
    for name, path in trajectories.items():
        st = racer_style(name) if name in RACERS else {"color": None, "ls": "-"}
        ax.plot(path[:, 0], path[:, 1], lw=1.2, label=name, color=st["color"], ls=st["ls"])
        ax.plot(*path[0], "ks", ms=4)
    ax.set_xlim(*land.xlim)
    ax.set_ylim(*land.ylim)
    ax.set_title(title or land.name.replace("_", " "), fontsize=9)
    legend_outside(ax, "right")
