"""Activation explorer: f and f′, where they saturate, and a gradient passed back through n layers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import ACTIVATIONS, DERIVATIVES
from ..plotting import CYCLE, PALETTE

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


def plot_activation(fig, d: ActivationData) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(d.x, d.f, color=PALETTE["blue"], lw=2, label=f"{d.name}(x)")
    ax1.plot(d.x, d.df, color=PALETTE["vermillion"], lw=2, ls="--", label=f"{d.name}′(x)")
    sat = d.df < SATURATION
    ax1.fill_between(d.x, -1.2, 5.2, where=sat, color="#bbbbbb", alpha=0.4, label="saturated (f′ < 0.05)")
    ax1.set_ylim(-1.2, 3)
    ax1.axhline(0, color="#999999", lw=0.5)
    ax1.set_xlabel("pre-activation x")
    ax1.legend(fontsize=8, loc="upper left")
    ax1.set_title("the function and its derivative", fontsize=9)
    for i, (name, g) in enumerate(d.median_grad.items()):
        mine = name == d.name
        ax2.semilogy(d.depths, np.maximum(g, 1e-30), color=CYCLE[i % len(CYCLE)], lw=3 if mine else 1,
                     alpha=1 if mine else 0.5, label=name)
    ax2.set_ylim(1e-12, 10)
    ax2.set_xlabel("layers the gradient passes back through")
    ax2.set_ylabel("mean |Π f′(z)|")
    ax2.set_title(f"gradient after n layers (z ~ N(0, {d.spread:g}²))", fontsize=9)
    ax2.legend(fontsize=7, ncol=2)


def describe_activation(d: ActivationData) -> str:
    g = d.median_grad[d.name][-1]
    return (f"After {len(d.depths)} layers of <b>{d.name}</b> the mean gradient factor is {g:.2e}. "
            + ("It vanishes." if g < 1e-3 else "It survives."))
