"""Initialisation through depth: activations and gradients of a deep MLP (Unit 3, "Initialisation").

:func:`depth_statistics` sends a batch through a deep, bias-free MLP whose weights come
from one of :data:`INIT_CHOICES`, and a random gradient back, and records per layer the
histogram and standard deviation of the activations and the norm of the weight gradient:
vanishing and exploding signals show at a glance.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import NamedTuple

import numpy as np

from .. import init
from ..activations import ACTIVATIONS, DERIVATIVES
from ..plotting import CYCLE, PALETTE, View

WIDTH, BATCH = 128, 128
INIT_CHOICES = {
    "zeros": init.zeros,
    "small normal (σ = 0.01)": partial(init.normal, std=0.01),
    "normal (σ = 1)": partial(init.normal, std=1.0),
    "Glorot uniform": init.glorot_uniform,
    "Glorot normal": init.glorot_normal,
    "He uniform": init.he_uniform,
    "He normal": init.he_normal,
    "LeCun normal": init.lecun_normal,
    "orthogonal": init.orthogonal,
}
INIT_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 3.0), "linear": (-3.0, 3.0)}
BINS = 41


class DepthStats(NamedTuple):
    """Per layer (1..depth): activation histogram (density over ``edges``), its std, and ‖∂L/∂W‖."""
    edges: np.ndarray
    hist: np.ndarray       # (depth, BINS)
    std: np.ndarray        # (depth,)
    grad_norm: np.ndarray  # (depth,)


@lru_cache(maxsize=256)
def depth_statistics(initializer: str, activation: str, depth: int, seed: int = 0) -> DepthStats:
    r"""Forward a batch :math:`x \sim \mathcal{N}(0, I)` through ``depth`` layers :math:`h_l = f(W_l h_{l-1})`, back a random gradient.

    The loss is :math:`L = \frac1N \sum_n r_n^\top h_D` with :math:`r \sim \mathcal{N}(0, I)`,
    so the gradient entering the top layer has the same scale whatever the weights are.
    Values outside the activation's plotting range are counted in the edge bins.
    """
    if initializer not in INIT_CHOICES:
        raise ValueError(f"initializer must be one of {list(INIT_CHOICES)}, got {initializer!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rng = np.random.default_rng(seed)
    f, df = ACTIVATIONS[activation], DERIVATIVES[activation]
    weights = [INIT_CHOICES[initializer]((WIDTH, WIDTH), rng=rng) for _ in range(depth)]
    h = rng.standard_normal((BATCH, WIDTH))
    edges = np.linspace(*RANGES[activation], BINS + 1)
    inputs, pre, hist, std = [], [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for W in weights:
            inputs.append(h)
            z = h @ W.T
            h = f(z)
            pre.append(z)
            counts, _ = np.histogram(np.clip(h, edges[0], edges[-1]), bins=edges)
            hist.append(counts / max(1, counts.sum()))
            std.append(float(np.std(h)))
        g = rng.standard_normal((BATCH, WIDTH)) / BATCH
        norms = []
        for W, z, x in zip(reversed(weights), reversed(pre), reversed(inputs)):
            delta = g * df(z)
            norms.append(float(np.linalg.norm(delta.T @ x)))
            g = delta @ W
    return DepthStats(edges, np.array(hist), np.array(std), np.array(norms[::-1]))


class InitData(NamedTuple):
    initializer: str
    activation: str
    depth: int
    stats: DepthStats
    others: dict  # initializer -> DepthStats, same activation and depth


def compute_init(initializer: str = "Glorot normal", activation: str = "tanh", depth: int = 15) -> InitData:
    others = {name: depth_statistics(name, activation, int(depth)) for name in INIT_CHOICES}
    return InitData(initializer, activation, int(depth), others[initializer], others)


FLOOR = 1e-12


class InitView(View):
    """Stacked activation histograms (one per layer), activation std and gradient norm against depth."""

    def key(self, d: InitData):
        return (d.activation, d.depth)

    def setup(self, fig, d: InitData) -> None:
        gs = fig.add_gridspec(1, 3, width_ratios=[1.1, 1, 1])
        ax1, ax2, ax3 = (fig.add_subplot(gs[0, i]) for i in range(3))
        centres = (d.stats.edges[:-1] + d.stats.edges[1:]) / 2
        self.ridges = []
        for layer in range(d.depth):
            line, = ax1.plot(centres, np.full(BINS, layer), color=PALETTE["blue"], lw=1.0)
            self.ridges.append(line)
        ax1.set_xlim(centres[0], centres[-1])
        ax1.set_ylim(-0.5, d.depth + 1.5)
        ax1.set_xlabel(f"activation value ({d.activation}; beyond the range: edge bins)")
        ax1.set_ylabel("layer")
        self.title = ax1.set_title(" ", fontsize=9)
        for ax, key, label in ((ax2, "std", "std of activations"), (ax3, "grad_norm", "‖∂L/∂W‖ of each layer")):
            ax.set_yscale("log")
            ax.set_ylim(FLOOR, 1e8)
            ax.set_xlim(1, d.depth)
            ax.set_xlabel("layer")
            ax.set_title(label, fontsize=9)
        self.lines = {}
        for i, name in enumerate(d.others):
            colour = CYCLE[i % len(CYCLE)]
            ls = "--" if i >= len(CYCLE) else "-"
            layers = np.arange(1, d.depth + 1)
            self.lines[name] = (ax2.plot(layers, np.ones(d.depth), color=colour, ls=ls, label=name)[0],
                                ax3.plot(layers, np.ones(d.depth), color=colour, ls=ls)[0])
        ax2.legend(fontsize=6, loc="lower left", ncol=2)

    def update(self, d: InitData) -> list:
        h = d.stats.hist
        scale = 1.6 / max(h.max(), 1e-12)
        for layer, line in enumerate(self.ridges):
            line.set_ydata(layer + h[layer] * scale)
        self.title.set_text(f"{d.initializer}, {d.activation}: activations per layer")
        artists = []
        for name, (l_std, l_grad) in self.lines.items():
            s = d.others[name]
            mine = name == d.initializer
            for line, y in ((l_std, s.std), (l_grad, s.grad_norm)):
                line.set_ydata(np.clip(np.nan_to_num(y, nan=1e30, posinf=1e30), FLOOR, 1e30))
                line.set_linewidth(2.8 if mine else 0.9)
                line.set_alpha(1.0 if mine else 0.35)
                line.set_zorder(3 if mine else 2)
                artists.append(line)
        return self.ridges + [self.title] + artists


def plot_init(fig, d: InitData) -> None:
    InitView().plot(fig, d)


def describe_init(d: InitData) -> str:
    s = d.stats
    return (f"<b>{d.initializer}</b> with <b>{d.activation}</b>: activation std {s.std[0]:.2g} after layer 1, "
            f"{s.std[-1]:.2g} after layer {d.depth}; weight-gradient norm {s.grad_norm[0]:.2g} at layer 1, "
            f"{s.grad_norm[-1]:.2g} at layer {d.depth}.")
