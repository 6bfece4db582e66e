r"""The lecture notes' 2-2-1 sigmoid network, trained one step at a time (Unit 1, worked example).

Inputs :math:`x = (0.35, 0.7)`, target 0.5, learning rate 1, no biases, weights
:math:`w_{11} = w_{21} = 0.2`, :math:`w_{12} = w_{22} = 0.3` (inputs → hidden),
:math:`w_{13} = 0.3`, :math:`w_{23} = 0.9` (hidden → output). Error
:math:`E = \tfrac12 (t - y_5)^2`, and the notes' rule :math:`\Delta w_{ij} = \eta\,\delta_j\,o_i`
with :math:`\delta_5 = y_5(1-y_5)(t-y_5)` and :math:`\delta_h = y_h(1-y_h)\,w_{h5}\,\delta_5`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import sigmoid
from matplotlib.patches import FancyBboxPatch

from ..plotting import PALETTE, View

NOTES_WEIGHTS = {"w11": 0.2, "w21": 0.2, "w12": 0.3, "w22": 0.3, "w13": 0.3, "w23": 0.9}
NOTES_INPUT = (0.35, 0.7)
NOTES_TARGET = 0.5


class BackpropStep(NamedTuple):
    weights: dict
    a1: float
    a2: float
    y3: float
    y4: float
    a3: float
    y5: float
    error: float
    delta5: float
    delta3: float
    delta4: float
    updates: dict
    new_weights: dict


def _s(v: float) -> float:
    return float(sigmoid(np.array(v)))


def backprop_step(weights: dict, x=NOTES_INPUT, target: float = NOTES_TARGET, lr: float = 1.0) -> BackpropStep:
    """One forward pass, the deltas, and the weight updates of the 2-2-1 network."""
    w = dict(weights)
    x1, x2 = x
    a1 = w["w11"] * x1 + w["w21"] * x2
    a2 = w["w12"] * x1 + w["w22"] * x2
    y3, y4 = _s(a1), _s(a2)
    a3 = w["w13"] * y3 + w["w23"] * y4
    y5 = _s(a3)
    err = target - y5
    d5 = y5 * (1 - y5) * err
    d3 = y3 * (1 - y3) * w["w13"] * d5
    d4 = y4 * (1 - y4) * w["w23"] * d5
    upd = {"w11": lr * d3 * x1, "w21": lr * d3 * x2, "w12": lr * d4 * x1, "w22": lr * d4 * x2,
           "w13": lr * d5 * y3, "w23": lr * d5 * y4}
    new = {k: w[k] + upd[k] for k in w}
    return BackpropStep(w, a1, a2, y3, y4, a3, y5, err, d5, d3, d4, upd, new)


class StepperData(NamedTuple):
    step: BackpropStep
    index: int
    errors: np.ndarray
    show: str


def compute_stepper(step: int = 0, lr: float = 1.0, show: str = "forward") -> StepperData:
    """Train ``step`` steps from the notes' weights; return the details of the next one."""
    w, errors = dict(NOTES_WEIGHTS), []
    for _ in range(step + 1):
        s = backprop_step(w, lr=lr)
        errors.append(s.error)
        w = s.new_weights
    return StepperData(s, step, np.array(errors), show)


_POS = {"x1": (0, 1), "x2": (0, 0), "h1": (1, 1), "h2": (1, 0), "o": (2, 0.5)}
_EDGES = {"w11": ("x1", "h1"), "w21": ("x2", "h1"), "w12": ("x1", "h2"), "w22": ("x2", "h2"),
          "w13": ("h1", "o"), "w23": ("h2", "o")}


_TITLES = {"forward": "forward pass: a = weighted sum, y = σ(a)",
           "backward": "backward pass: the deltas", "update": "weight updates Δw = η·δ·o"}
_EDGE_AT = {"w11": 0.5, "w22": 0.5, "w21": 0.3, "w12": 0.3, "w13": 0.5, "w23": 0.5}
MAX_STEPS = 31


class StepperView(View):
    """The 2-2-1 network with its numbers (left) and the error over training steps (right)."""

    def setup(self, fig, d: StepperData) -> None:
        ax, ax2 = fig.subplots(1, 2, width_ratios=[2.2, 1])
        self.edge_text, self.node_text = {}, {}
        for name, (a, b) in _EDGES.items():
            (x0, y0), (x1, y1) = _POS[a], _POS[b]
            ax.plot([x0, x1], [y0, y1], color="#888888", lw=1, zorder=1)
            t = _EDGE_AT[name]
            self.edge_text[name] = ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), "", fontsize=9, ha="center",
                                           bbox=dict(fc="white", ec="none", alpha=0.85), zorder=3)
        for name, (x, y) in _POS.items():
            colour = PALETTE["sky"] if name.startswith("x") else PALETTE["orange"]
            ax.add_patch(FancyBboxPatch((x - 0.27, y - 0.17), 0.54, 0.34, boxstyle="round,pad=0.02",
                                        fc=colour, ec="#333333", lw=0.8, zorder=2))
            self.node_text[name] = ax.text(x, y, "", ha="center", va="center", fontsize=9, zorder=4)
        ax.set_xlim(-0.35, 2.35)
        ax.set_ylim(-0.3, 1.3)
        ax.set_axis_off()
        self.title = ax.set_title(" ", fontsize=9)
        ax2.axhline(0, color="#999999", lw=0.5)
        ax2.set_xlim(0, MAX_STEPS + 1)
        ax2.set_ylim(-0.18, 0.01)
        ax2.set_xlabel("training step")
        ax2.set_ylabel("error t − y5")
        ax2.set_title("error before each step", fontsize=9)
        self.curve, = ax2.plot([], [], "o-", color=PALETTE["blue"], ms=3)

    def update(self, d: StepperData) -> list:
        s = d.step
        text = {"x1": f"x1 = {NOTES_INPUT[0]}", "x2": f"x2 = {NOTES_INPUT[1]}"}
        if d.show == "forward":
            text |= {"h1": f"a1 = {s.a1:.4f}\ny3 = {s.y3:.4f}", "h2": f"a2 = {s.a2:.4f}\ny4 = {s.y4:.4f}",
                     "o": f"a3 = {s.a3:.4f}\ny5 = {s.y5:.4f}"}
        else:
            text |= {"h1": f"δ3 = {s.delta3:.5f}", "h2": f"δ4 = {s.delta4:.5f}", "o": f"δ5 = {s.delta5:.5f}"}
        for name, artist in self.node_text.items():
            artist.set_text(text[name])
        for name, artist in self.edge_text.items():
            label = f"{name} = {s.weights[name]:.4f}"
            if d.show == "update":
                label = f"{name}: {s.weights[name]:.4f} {s.updates[name]:+.5f}\n→ {s.new_weights[name]:.6f}"
            artist.set_text(label)
        self.title.set_text(f"after {d.index} training steps, the next one — {_TITLES[d.show]}")
        self.curve.set_data(np.arange(1, len(d.errors) + 1), d.errors)
        return [*self.edge_text.values(), *self.node_text.values(), self.title, self.curve]
