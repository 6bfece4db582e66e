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

from .._validate import as_seed
from .. import init
from ..activations import ACTIVATIONS, DERIVATIVES
from ..plotting import CYCLE, PALETTE, View
from .threads import single_threaded

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
@single_threaded
def depth_statistics(initializer: str, activation: str, depth: int, rng=0) -> DepthStats:
    r"""Forward a batch through ``depth`` layers :math:`h_l = f(W_l h_{l-1})`, then a random gradient back.

    The inputs are :math:`x \sim \mathcal{N}(0, I)`.

    The loss is :math:`L = \frac1N \sum_n r_n^\top h_D` with :math:`r \sim \mathcal{N}(0, I)`,
    so the gradient entering the top layer has the same scale whatever the weights are.
    Values outside the activation's plotting range are counted in the edge bins.
    """
    seed = as_seed(rng, "rng")
    if initializer not in INIT_CHOICES:
        raise ValueError(f"initializer must be one of {list(INIT_CHOICES)}, got {initializer!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rng = np.random.default_rng(seed)
    f, df = ACTIVATIONS[activation], DERIVATIVES[activation]
    h = rng.standard_normal((BATCH, WIDTH))
    edges = np.linspace(*RANGES[activation], BINS + 1)
    inputs, pre, hist, std = [], [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        weights = [INIT_CHOICES[initializer]((WIDTH, WIDTH), rng=rng) for _ in range(depth)]
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


FLOOR, CEILING = 1e-15, 1e15


class InitView(View):
    """Stacked activation histograms (one per layer), activation std and gradient norm against depth."""

    def key(self, d: InitData):
        return d.depth

    def setup(self, fig, d: InitData) -> None:
        gs = fig.add_gridspec(1, 3, width_ratios=[1.1, 1, 1])
        self.ax1, ax2, ax3 = (fig.add_subplot(gs[0, i]) for i in range(3))
        ax1 = self.ax1
        self.ridges = [ax1.plot(np.linspace(0, 1, BINS), np.full(BINS, layer), color=PALETTE["blue"], lw=1.0)[0]
                       for layer in range(d.depth)]
        # the x axis is drawn in [0, 1] and labelled per activation, so that switching it redraws little
        ax1.set_xlim(0, 1)
        ax1.set_ylim(-0.5, d.depth + 1.5)
        ax1.set_xticks([0, 0.5, 1], ["", "", ""])
        self.xlabels = [ax1.text(x, -0.06, "", transform=ax1.transAxes, ha="center", va="top", fontsize=9)
                        for x in (0, 0.5, 1)]
        ax1.set_xlabel("activation value (values beyond the range: edge bins)", labelpad=12)
        ax1.set_ylabel("layer")
        self.title = ax1.set_title(" ", fontsize=9)
        for ax, label in ((ax2, "std of the activations"), (ax3, "‖∂L/∂W‖ of each layer")):
            ax.set_yscale("log")
            ax.set_ylim(FLOOR, CEILING)
            ax.set_xlim(1, d.depth)
            ax.set_xlabel("layer")
            ax.set_title(label, fontsize=9)
        self.lines = {}
        layers = np.arange(1, d.depth + 1)
        for i, name in enumerate(INIT_CHOICES):
            colour, ls = CYCLE[i % len(CYCLE)], "--" if i >= len(CYCLE) else "-"
            self.lines[name] = (ax2.plot(layers, np.ones(d.depth), color=colour, ls=ls, label=name)[0],
                                ax3.plot(layers, np.ones(d.depth), color=colour, ls=ls)[0])
        ax3.text(0.98, 0.02, "bold: the chosen initializer\nfaint: the others", transform=ax3.transAxes,
                 ha="right", va="bottom", fontsize=9, color="#555555")

    def update(self, d: InitData) -> list:
        h = d.stats.hist
        scale = 1.6 / max(h.max(), 1e-12)
        for layer, line in enumerate(self.ridges):
            line.set_ydata(layer + h[layer] * scale)
        self.title.set_text(f"{d.initializer}, {d.activation}: activations per layer")
        low, high = RANGES[d.activation]
        for text, value in zip(self.xlabels, (low, (low + high) / 2, high)):
            text.set_text(f"{value:g}")
        artists = []
        for name, (l_std, l_grad) in self.lines.items():
            s = d.others[name]
            mine = name == d.initializer
            for line, y in ((l_std, s.std), (l_grad, s.grad_norm)):
                line.set_ydata(np.clip(np.nan_to_num(y, nan=CEILING, posinf=CEILING), FLOOR, CEILING))
                line.set_linewidth(2.8 if mine else 0.9)
                line.set_alpha(1.0 if mine else 0.35)
                line.set_zorder(3 if mine else 2)
                artists.append(line)
        return self.ridges + [self.title, *self.xlabels] + artists


def describe_init(d: InitData) -> str:
    s = d.stats
    return (f"<b>{d.initializer}</b> with <b>{d.activation}</b>: activation std {s.std[0]:.2g} after layer 1, "
            f"{s.std[-1]:.2g} after layer {d.depth}; weight-gradient norm {s.grad_norm[0]:.2g} at layer 1, "
            f"{s.grad_norm[-1]:.2g} at layer {d.depth}.")
