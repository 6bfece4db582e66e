"""Activation explorer: f and f′, where they saturate, and a gradient passed back through n layers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import ACTIVATIONS, DERIVATIVES
from ..plotting import CYCLE, PALETTE, View

SATURATION = 0.05  # f′ below this counts as saturated


class ActivationData(NamedTuple):
    name: str
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    depths: np.ndarray
    median_grad: dict  # activation name -> mean |Π f′(z_k)| at each depth
    spread: float


def gradient_through_layers(name: str, n_layers: int, spread: float, n_paths: int = 2000,
                            seed: int = 0) -> np.ndarray:
    r"""Mean over random paths of :math:`\prod_{k=1}^{d} |f'(z_k)|` for d = 1..n_layers.

    Each :math:`z_k \sim \mathcal{N}(0, \text{spread}^2)` is a pre-activation; the weights are left
    out so that only the activation's share of the chain rule shows.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, spread, (n_paths, n_layers))
    factors = np.abs(DERIVATIVES[name](z))
    with np.errstate(divide="ignore"):
        return np.mean(np.cumprod(factors, axis=1), axis=0)


def compute_activation(name: str = "sigmoid", n_layers: int = 10, spread: float = 1.0) -> ActivationData:
    if name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    x = np.linspace(-5, 5, 401)
    grads = {a: gradient_through_layers(a, n_layers, spread) for a in ACTIVATIONS}
    return ActivationData(name, x, ACTIVATIONS[name](x), DERIVATIVES[name](x),
                          np.arange(1, n_layers + 1), grads, spread)


MAX_LAYERS = 30


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
        ax1.legend(fontsize=8, loc="upper left")
        self.title1 = ax1.set_title(" ", fontsize=9)
        self.curves = {}
        for i, name in enumerate(d.median_grad):
            self.curves[name], = ax2.semilogy([], [], color=CYCLE[i % len(CYCLE)], label=name)
        ax2.set_xlim(1, MAX_LAYERS)
        ax2.set_ylim(1e-12, 10)
        ax2.set_xlabel("layers the gradient passes back through")
        ax2.set_ylabel("mean |Π f′(z)|")
        ax2.legend(fontsize=7, ncol=2, loc="lower left")
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
        self.title2.set_text(f"gradient after n layers (z ~ N(0, {d.spread:g}²))")
        return self._swap("shade", [shade]) + [self.f_line, self.df_line, self.title1, self.title2,
                                                *self.curves.values()]


def plot_activation(fig, d: ActivationData) -> None:
    ActivationView().plot(fig, d)


def describe_activation(d: ActivationData) -> str:
    g = d.median_grad[d.name][-1]
    return (f"After {len(d.depths)} layers of <b>{d.name}</b> the mean gradient factor is {g:.2e}. "
            + ("It vanishes." if g < 1e-3 else "It survives."))
