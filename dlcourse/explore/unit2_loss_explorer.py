r"""Loss explorer: several losses, and their derivatives, as functions of one number.

Three views of a loss, each a function of a single variable (Unit 2, "Loss functions"):

* **residual** :math:`r = \hat y - y` (regression): MSE, MAE, Huber;
* **margin** :math:`t = y\,z` with :math:`y \in \{-1, +1\}` and :math:`z` the logit (binary
  classification): zero-one, hinge, squared hinge, logistic (= BCE on logits);
* **probability** :math:`p` given to the true class (binary classification): cross-entropy,
  focal, label-smoothed cross-entropy, MAE and squared error on the probabilities.

Each curve is the loss of *one* sample; :mod:`dlcourse.losses` averages the same terms over a
batch (the tests check that the two agree).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .. import losses as L
from ..activations import sigmoid, softplus
from ..plotting import CYCLE, PALETTE, View


class Pointwise(NamedTuple):
    """A one-sample loss ``value(x, **params)`` and its derivative ``grad(x, **params)``."""
    value: Callable
    grad: Callable
    formula: str


def _per_residual(name, *params):
    """The loss ``name`` of :mod:`dlcourse.losses` and its derivative for each residual (``reduction="none"``),
    given the slider values named in ``params``."""
    loss, grad = L.get_loss(name)

    def pick(k):
        return {p: k[p] for p in params}
    return (lambda r, **k: loss(r, np.zeros_like(r), **pick(k), reduction="none"),
            lambda r, **k: grad(r, np.zeros_like(r), **pick(k), reduction="none"))


def _log(p):
    with np.errstate(divide="ignore"):
        return np.log(p)


def _focal(p, gamma):
    return -((1.0 - p) ** gamma) * _log(p)


def _focal_grad(p, gamma):
    with np.errstate(divide="ignore", invalid="ignore"):
        lead = 0.0 if gamma == 0 else gamma * (1.0 - p) ** (gamma - 1.0) * _log(p)
        return lead - (1.0 - p) ** gamma / p


def _smoothed(p, smoothing):
    """Binary cross-entropy against the smoothed target 1 − ε/2 (the other class gets ε/2)."""
    keep = 1.0 - smoothing / 2.0
    return -keep * _log(p) - (1.0 - keep) * _log(1.0 - p)


def _smoothed_grad(p, smoothing):
    keep = 1.0 - smoothing / 2.0
    with np.errstate(divide="ignore"):
        return -keep / p + (1.0 - keep) / (1.0 - p)


REGRESSION = {
    "MSE": Pointwise(*_per_residual("mse"), "r²"),
    "MAE": Pointwise(*_per_residual("mae"), "|r|"),
    "Huber": Pointwise(*_per_residual("huber", "delta"), "½r² if |r| < δ, else δ(|r| − ½δ)"),
}

MARGIN = {
    "zero-one": Pointwise(lambda t, **k: (t <= 0).astype(float), lambda t, **k: np.zeros_like(t), "[t ≤ 0]"),
    "hinge": Pointwise(lambda t, margin=1.0, **k: np.maximum(0.0, margin - t),
                       lambda t, margin=1.0, **k: np.where(t < margin, -1.0, 0.0), "max(0, m − t)"),
    "squared hinge": Pointwise(lambda t, margin=1.0, **k: np.maximum(0.0, margin - t) ** 2,
                               lambda t, margin=1.0, **k: -2.0 * np.maximum(0.0, margin - t), "max(0, m − t)²"),
    "logistic (BCE)": Pointwise(lambda t, **k: softplus(-t), lambda t, **k: -sigmoid(-t), "log(1 + e^(−t))"),
}

PROBABILITY = {
    "cross-entropy": Pointwise(lambda p, **k: -_log(p), lambda p, **k: -1.0 / p, "−log p"),
    "focal": Pointwise(lambda p, gamma=2.0, **k: _focal(p, gamma), lambda p, gamma=2.0, **k: _focal_grad(p, gamma),
                       "−(1 − p)^γ log p"),
    "label smoothing": Pointwise(lambda p, smoothing=0.1, **k: _smoothed(p, smoothing),
                                 lambda p, smoothing=0.1, **k: _smoothed_grad(p, smoothing),
                                 "−(1 − ε/2) log p − (ε/2) log(1 − p)"),
    "MAE on probabilities": Pointwise(lambda p, **k: 2.0 * (1.0 - p), lambda p, **k: np.full_like(p, -2.0),
                                      "|1 − p| + |0 − (1 − p)| = 2(1 − p)"),
    "squared error": Pointwise(lambda p, **k: 2.0 * (1.0 - p) ** 2, lambda p, **k: -4.0 * (1.0 - p),
                               "(1 − p)² + (0 − (1 − p))² = 2(1 − p)²"),
}


class Mode(NamedTuple):
    losses: dict
    grid: np.ndarray
    xlabel: str
    ylim: tuple
    glim: tuple
    params: tuple        # which of delta, margin, gamma, smoothing apply
    default: tuple       # losses shown at first


MODES = {
    "regression: residual": Mode(REGRESSION, np.linspace(-4, 4, 401), "residual r = ŷ − y", (-0.2, 6), (-4.5, 4.5),
                                 ("delta",), ("MSE", "MAE", "Huber")),
    "classification: margin": Mode(MARGIN, np.linspace(-3, 3, 401), "margin t = y·z  (y = ±1, z the logit)",
                                   (-0.2, 5), (-4.5, 0.5), ("margin",), ("zero-one", "hinge", "logistic (BCE)")),
    "classification: probability": Mode(PROBABILITY, np.linspace(0.005, 0.995, 397),
                                        "p, the probability of the true class",
                                        (-0.1, 5.5), (-12, 2), ("gamma", "smoothing"),
                                        ("cross-entropy", "focal", "MAE on probabilities")),
}
"""The three views, by name: their losses, x grid, axis labels and limits, and which sliders apply."""

PARAMS = ("delta", "margin", "gamma", "smoothing")


class LossCurves(NamedTuple):
    mode: str
    names: tuple            # the losses shown
    x: np.ndarray
    values: dict            # name -> loss on the grid
    grads: dict             # name -> derivative on the grid
    at: float               # the point read off
    at_values: dict         # name -> loss at ``at``
    at_grads: dict          # name -> derivative at ``at``
    params: dict            # the slider values that apply to this mode


def compute_loss_curves(mode: str = "regression: residual", losses=None, at: float = 2.0, delta: float = 1.0,
                        margin: float = 1.0, gamma: float = 2.0, smoothing: float = 0.1) -> LossCurves:
    """Each chosen loss of ``mode`` and its derivative on a grid, and at the point ``at``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    spec = MODES[mode]
    names = tuple(spec.default if losses is None else losses)
    unknown = [n for n in names if n not in spec.losses]
    if unknown:
        raise ValueError(f"losses of mode {mode!r} are {list(spec.losses)}, got {unknown}")
    params = {k: v for k, v in dict(delta=delta, margin=margin, gamma=gamma, smoothing=smoothing).items()
              if k in spec.params}
    at = float(np.clip(at, spec.grid[0], spec.grid[-1]))
    point = np.array([at])
    values, grads, at_values, at_grads = {}, {}, {}, {}
    for name in names:
        f = spec.losses[name]
        values[name], grads[name] = f.value(spec.grid, **params), f.grad(spec.grid, **params)
        at_values[name], at_grads[name] = float(f.value(point, **params)[0]), float(f.grad(point, **params)[0])
    return LossCurves(mode, names, spec.grid, values, grads, at, at_values, at_grads, params)


def _colour(mode: str, name: str) -> str:
    return CYCLE[list(MODES[mode].losses).index(name) % len(CYCLE)]


class LossView(View):
    """Left: the losses; right: their derivatives; a dotted line at the point read off.

    Every loss of the view gets its lines in ``setup``; ``update`` shows the chosen ones, so
    that picking losses never redraws the axes (the legend is redrawn with the lines).
    """

    def key(self, d: LossCurves):
        return d.mode

    def setup(self, fig, d: LossCurves) -> None:
        spec = MODES[d.mode]
        self.ax1, self.ax2 = fig.subplots(1, 2)
        for ax, lim, ylabel in ((self.ax1, spec.ylim, "loss of one sample"), (self.ax2, spec.glim, "derivative")):
            ax.set_xlim(spec.grid[0], spec.grid[-1])
            ax.set_ylim(*lim)
            ax.axhline(0, color="#999999", lw=0.5)
            ax.set_xlabel(spec.xlabel)
            ax.set_ylabel(ylabel)
        self.lines, self.dlines, self.dots, self.ddots = {}, {}, {}, {}
        for name in spec.losses:
            c = _colour(d.mode, name)
            self.lines[name], = self.ax1.plot([], [], color=c, lw=2, label=name)
            self.dlines[name], = self.ax2.plot([], [], color=c, lw=2)
            self.dots[name], = self.ax1.plot([], [], "o", color=c, ms=6)
            self.ddots[name], = self.ax2.plot([], [], "o", color=c, ms=6)
        self.marker1 = self.ax1.axvline(d.at, color=PALETTE["black"], ls=":", lw=1)
        self.marker2 = self.ax2.axvline(d.at, color=PALETTE["black"], ls=":", lw=1)
        self.title1 = self.ax1.set_title(" ", fontsize=9)
        self.title2 = self.ax2.set_title("the derivative: what gradient descent feels", fontsize=9)

    def update(self, d: LossCurves) -> list:
        artists = []
        for name in self.lines:
            shown = name in d.names
            for a in (self.lines[name], self.dlines[name], self.dots[name], self.ddots[name]):
                a.set_visible(shown)
                artists.append(a)
            if shown:
                self.lines[name].set_data(d.x, d.values[name])
                self.dlines[name].set_data(d.x, d.grads[name])
                self.dots[name].set_data([d.at], [d.at_values[name]])
                self.ddots[name].set_data([d.at], [d.at_grads[name]])
        for m in (self.marker1, self.marker2):
            m.set_xdata([d.at, d.at])
        settings = ", ".join(f"{_SYMBOL[k]} = {v:g}" for k, v in d.params.items())
        self.title1.set_text(f"losses{' (' + settings + ')' if settings else ''}")
        handles = [self.lines[n] for n in self.lines if n in d.names]
        legend = [self.ax1.legend(handles=handles, fontsize=9, loc="upper center")] if handles else []
        return artists + self._swap("legend", legend) + [self.marker1, self.marker2, self.title1]


_SYMBOL = {"delta": "δ", "margin": "m", "gamma": "γ", "smoothing": "ε"}


def describe_loss_curves(d: LossCurves) -> str:
    """One line per loss: its value and derivative at the point read off."""
    if not d.names:
        return "Pick at least one loss."
    rows = "".join(f"<tr><td>{n}</td><td>{d.at_values[n]:.4f}</td><td>{d.at_grads[n]:+.4f}</td></tr>"
                   for n in d.names)
    return (f"<table><tr><th>at x = {d.at:g}</th><th>loss</th><th>derivative</th></tr>{rows}</table>")
