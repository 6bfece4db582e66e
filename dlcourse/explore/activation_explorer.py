"""Activation explorer: f and f′, where they saturate, and a gradient passed back through n layers."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..activations import ACTIVATIONS, DERIVATIVES
from ..plotting import CYCLE, PALETTE, View, legend_outside

SATURATION = 0.05  # f′ below this counts as saturated
MAX_LAYERS = 30


class ActivationData(NamedTuple):
    name: str
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    depths: np.ndarray
    median_grad: dict  # activation name -> relative gradient norm after 1..n layers
    spread: float


def gradient_through_layers(name: str, n_layers: int, spread: float, width: int = 64, batch: int = 32,
                            rng=0) -> np.ndarray:
    r"""Norm of a gradient after it is passed back through 1..n_layers random layers of activation ``name``.

    A random network of ``n_layers`` fully connected layers (``width`` units, weights
    :math:`\mathcal{N}(0, \text{spread}^2/\text{fan\_in})`: spread 1 is LeCun's scale, :math:`\sqrt 2` He's)
    runs forward on random inputs; a random gradient then flows back,
    :math:`g \leftarrow (g \odot f'(z)) W`. Returns :math:`\|g\|` after each layer, relative to the top.
    """
    seed = as_seed(rng, "rng")
    f, df = ACTIVATIONS[name], DERIVATIVES[name]
    rng = np.random.default_rng(seed)
    h = rng.normal(0.0, 1.0, (batch, width))
    weights, pre = [], []
    for _ in range(n_layers):
        W = rng.normal(0.0, spread / np.sqrt(width), (width, width))
        z = h @ W.T
        weights.append(W)
        pre.append(z)
        h = f(z)
    g = rng.normal(0.0, 1.0, (batch, width))
    top = np.linalg.norm(g)
    norms = []
    for W, z in zip(reversed(weights), reversed(pre)):
        g = (g * df(z)) @ W
        norms.append(np.linalg.norm(g) / top)
    return np.array(norms)


@lru_cache(maxsize=64)
def _curves(spread: float) -> dict:
    """Every activation's gradient norms through MAX_LAYERS layers (cached: the widget slices them)."""
    return {a: gradient_through_layers(a, MAX_LAYERS, spread) for a in ACTIVATIONS}


def compute_activation(name: str = "sigmoid", n_layers: int = 10, spread: float = 1.0) -> ActivationData:
    if name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    if not 1 <= n_layers <= MAX_LAYERS:
        raise ValueError(f"n_layers must be between 1 and {MAX_LAYERS}, got {n_layers}")
    x = np.linspace(-5, 5, 401)
    grads = {a: g[:n_layers] for a, g in _curves(float(spread)).items()}
    return ActivationData(name, x, ACTIVATIONS[name](x), DERIVATIVES[name](x),
                          np.arange(1, n_layers + 1), grads, spread)


class ActivationView(View):
    """Left: f and f′ with the saturated region; right: the gradient factor against depth."""

    def setup(self, fig, d: ActivationData) -> None:
        self.ax1, self.ax2 = fig.subplots(1, 2)
        ax1, ax2 = self.ax1, self.ax2
        ax1.set_xlim(d.x[0], d.x[-1])
        ax1.set_ylim(-1.2, 3)
        ax1.axhline(0, color="#999999", lw=0.5)
        ax1.set_xlabel("pre-activation x")
        self.f_line, = ax1.plot([], [], color=PALETTE["blue"], lw=2, label="f(x)")
        self.df_line, = ax1.plot([], [], color=PALETTE["vermillion"], lw=2, ls="--", label="f′(x)")
        ax1.fill_between([], [], color="#bbbbbb", alpha=0.4, label="saturated (f′ < 0.05)")
        ax1.legend(fontsize=9, loc="upper left")
        self.title1 = ax1.set_title(" ", fontsize=9)
        self.curves = {}
        for i, name in enumerate(d.median_grad):
            self.curves[name], = ax2.semilogy([], [], color=CYCLE[i % len(CYCLE)], label=name)
        ax2.set_xlim(1, MAX_LAYERS)
        ax2.set_ylim(1e-14, 1e4)
        ax2.set_xlabel("layers the gradient passes back through")
        ax2.set_ylabel("‖gradient‖ / ‖gradient at the top‖")
        legend_outside(ax2, "right")
        self.title2 = ax2.set_title(" ", fontsize=9)

    def update(self, d: ActivationData) -> list:
        self.f_line.set_data(d.x, d.f)
        self.df_line.set_data(d.x, d.df)
        shade = self.ax1.fill_between(d.x, -1.2, 5.2, where=d.df < SATURATION, color="#bbbbbb", alpha=0.4)
        self.title1.set_text(f"{d.name} and its derivative")
        for name, line in self.curves.items():
            mine = name == d.name
            line.set_data(d.depths, np.maximum(d.median_grad[name], 1e-30))
            line.set_linewidth(3 if mine else 1)
            line.set_alpha(1 if mine else 0.5)
        self.title2.set_text(f"gradient through n random layers, weight scale {d.spread:g}")
        return self._swap("shade", [shade]) + [self.f_line, self.df_line, self.title1, self.title2,
                                                *self.curves.values()]


def describe_activation(d: ActivationData) -> str:
    g = d.median_grad[d.name][-1]
    verdict = "It vanishes." if g < 1e-3 else ("It explodes." if g > 1e3 else "It survives.")
    return (f"After {len(d.depths)} layers of <b>{d.name}</b> the gradient's norm is {g:.2e} times "
            f"its size at the top. {verdict}")
