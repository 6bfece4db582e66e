"""Network playground: a small MLP trained live on a 2-D toy set (think TensorFlow Playground)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..activations import softmax
from ..data import make_toy
from ..mlp import Trainer, make_mlp
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside

GRID = 60
BOX = (-1.8, 1.8)


class PlaygroundSnapshot(NamedTuple):
    X: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    yy: np.ndarray
    prob: np.ndarray
    losses: np.ndarray
    accuracy: float
    steps: int


class Playground:
    """The state behind the widget: data set, network and trainer; ``train`` advances it."""

    def __init__(self, dataset: str = "moons", hidden: int = 8, depth: int = 2, activation: str = "tanh",
                 lr: float = 0.3, noise: float | None = None, rng=0):
        seed = as_seed(rng, "rng")
        data = make_toy(dataset, n_samples=200, noise=noise, rng=seed)
        X = data.X / np.abs(data.X).max() * 1.5
        self.model = make_mlp(2, [hidden] * depth, 2, activation=activation, rng=seed)
        self.trainer = Trainer(self.model, X, data.y, lr=lr)
        self.settings = dict(dataset=dataset, hidden=hidden, depth=depth, activation=activation, lr=lr)

    def train(self, steps: int = 10) -> float:
        return self.trainer.train(steps)

    def snapshot(self) -> PlaygroundSnapshot:
        g = np.linspace(*BOX, GRID)
        xx, yy = np.meshgrid(g, g)
        logits = self.model.forward(np.c_[xx.ravel(), yy.ravel()])
        p = softmax(logits, axis=1)[:, 1]
        t = self.trainer
        return PlaygroundSnapshot(t.X, t.y, xx, yy, p.reshape(xx.shape), np.array(t.losses),
                                  t.accuracy(), len(t.losses))


def _bucket(n: float, first: float) -> float:
    """The smallest ``first * 2**k`` at least ``n``: axis limits that change rarely."""
    limit = first
    while limit < n:
        limit *= 2
    return limit


class PlaygroundView(View):
    """Decision boundary over the data (left) and the loss curve (right)."""

    def key(self, s: PlaygroundSnapshot):
        top = float(s.losses.max()) if len(s.losses) else 1.0
        return (hash(s.X.tobytes()), _bucket(s.steps, 100), _bucket(top, 0.25))

    def setup(self, fig, s: PlaygroundSnapshot) -> None:
        self.ax1, self.ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
        ax1, ax2 = self.ax1, self.ax2
        ax1.set_xlim(*BOX)
        ax1.set_ylim(*BOX)
        ax1.set_aspect("equal")
        self.points = []
        for label, colour, marker in ((0, PALETTE["orange"], "o"), (1, PALETTE["purple"], "s")):
            m = s.y == label
            self.points.append(ax1.scatter(s.X[m, 0], s.X[m, 1], c=colour, marker=marker, s=12, edgecolors="k",
                                           linewidths=0.3, label=f"class {label}", zorder=3))
        colorbar(ax1, cmap=DIVERGING, vmin=0, vmax=1, label="P(class 1)", shrink=0.8)
        legend_outside(ax1, where="below", ncol=2)
        self.title = ax1.set_title(" ", fontsize=9)
        key = self.key(s)
        ax2.set_xlim(0, key[1])
        ax2.set_ylim(0, key[2])
        ax2.set_xlabel("training step")
        ax2.set_ylabel("cross-entropy loss")
        ax2.set_title("loss curve", fontsize=9)
        self.curve, = ax2.plot([], [], color=PALETTE["blue"])

    def update(self, s: PlaygroundSnapshot) -> list:
        fill = self.ax1.contourf(s.xx, s.yy, s.prob, levels=np.linspace(0, 1, 11), cmap=DIVERGING, alpha=0.75)
        line = self.ax1.contour(s.xx, s.yy, s.prob, levels=[0.5], colors="k", linewidths=1)
        self.title.set_text(f"decision boundary after {s.steps} steps (accuracy {s.accuracy:.0%})")
        self.curve.set_data(np.arange(1, len(s.losses) + 1), s.losses)
        return self._swap("boundary", [fill, line]) + self.points + [self.title, self.curve]
