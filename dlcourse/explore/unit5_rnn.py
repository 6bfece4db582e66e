r"""RNN unroller: hidden states over time and the BPTT gradient at each step, RNN vs LSTM vs GRU.

:func:`compute_unroller` runs the three recurrent layers of :mod:`dlcourse.layers.recurrent`
on the same random input, with recurrent weights :math:`W_{hh} = \rho\, Q` (:math:`Q`
orthogonal, so :math:`\rho` is the spectral radius of each gate's block), a loss on the
last step only, :math:`L = v^\top h_T`, and reads the norm of
:math:`\partial L / \partial h_t` at every step from the layers' ``last_grad_norms``.

For the plain RNN, :math:`\partial h_t/\partial h_{t-1} = \operatorname{diag}(1 - h_t^2) W_{hh}`,
so :math:`\lVert \partial L/\partial h_t \rVert \le \rho^{T-t} \lVert \partial L/\partial h_T \rVert`:
below :math:`\rho = 1` the gradient must vanish. Through an LSTM's cell state it is
multiplied by the forget gate at each step, through a GRU by the update gate :math:`z`,
and a large gate bias keeps those near 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..layers.recurrent import GRU, LSTM, RNN
from ..plotting import PALETTE, View

CELLS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
COLOURS = {"RNN": PALETTE["vermillion"], "LSTM": PALETTE["blue"], "GRU": PALETTE["green"]}
HIDDEN, INPUTS, BATCH = 16, 4, 8
YLIM = (1e-12, 1e8)


def _orthogonal(n: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def make_cell(cell: str, scale: float = 1.0, gate_bias: float = 0.0, seed: int = 0):
    r"""A one-layer ``cell`` (RNN / LSTM / GRU) with ``weight_hh = scale × orthogonal`` per gate block.

    ``gate_bias`` is added to the LSTM's forget-gate biases or to the GRU's update-gate
    (:math:`z`) biases (a large value keeps those gates near 1, so the state is carried).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}")
    rng = np.random.default_rng(seed)
    layer = CELLS[cell](INPUTS, HIDDEN, rng=rng)
    layer.params["weight_hh"][...] = np.vstack([scale * _orthogonal(HIDDEN, rng) for _ in range(layer.GATES)])
    block = {"LSTM": 1, "GRU": 1}.get(cell)
    if block is not None:
        layer.params["bias_hh"][block * HIDDEN:(block + 1) * HIDDEN] += gate_bias
    return layer


class UnrollData(NamedTuple):
    cell: str
    T: int
    scale: float
    gate_bias: float
    clip: bool
    max_norm: float
    states: np.ndarray         # (H, T) hidden states of sample 0 of the chosen cell
    grad_norms: dict           # cell -> (T,) ‖∂L/∂h_t‖, after clipping if clip
    param_norms: dict          # cell -> ‖gradient of all parameters‖ before clipping
    bound: np.ndarray          # (T,) ρ^(T - t) ‖∂L/∂h_T‖ for the RNN


def compute_unroller(cell: str = "RNN", T: int = 40, scale: float = 1.0, gate_bias: float = 0.0,
                     clip: bool = False, max_norm: float = 1.0, seed: int = 0) -> UnrollData:
    """Hidden states of ``cell`` and the per-step gradient norms of all three cells (see the module)."""
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(0.0, 1.0, (T, BATCH, INPUTS))
    v = rng.normal(size=(BATCH, HIDDEN))
    norms, pnorms, states = {}, {}, None
    for name in CELLS:
        layer = make_cell(name, scale, gate_bias, seed)
        out, _ = layer.forward(x)
        g = np.zeros_like(out)
        g[-1] = v
        layer.zero_grad()
        layer.backward(g)
        total = float(np.sqrt(sum(np.sum(gr * gr) for gr in layer.gradients())))
        factor = min(1.0, max_norm / total) if clip and total > 0 else 1.0
        norms[name], pnorms[name] = layer.last_grad_norms * factor, total
        if name == cell:
            states = out[:, 0, :].T
    steps = np.arange(T)
    bound = norms["RNN"][-1] * float(scale) ** (T - 1 - steps)
    return UnrollData(cell, T, scale, gate_bias, clip, max_norm, states, norms, pnorms, bound)


def describe_unroller(d: UnrollData) -> str:
    g = d.grad_norms[d.cell]
    ratio = g[0] / g[-1] if g[-1] > 0 else float("nan")
    verdict = "vanishes" if ratio < 1e-3 else "explodes" if ratio > 1e3 else "survives"
    clip = (f" Clipping rescales the whole gradient by {min(1.0, d.max_norm / d.param_norms[d.cell]):.2g} "
            f"(its norm was {d.param_norms[d.cell]:.3g}); the ratio between steps does not change."
            if d.clip else "")
    return (f"<b>{d.cell}</b>: the gradient reaching step 1 is {ratio:.2e} × the one at step {d.T}: "
            f"it {verdict}.{clip}")


class UnrollerView(View):
    """Left: the chosen cell's hidden states (units × time); right: ‖∂L/∂h_t‖ against t for all three cells."""

    def key(self, d: UnrollData):
        return d.T

    def setup(self, fig, d: UnrollData) -> None:
        self.ax_h, self.ax_g = fig.subplots(1, 2, width_ratios=[1, 1.3])
        self.img = self.ax_h.imshow(np.zeros((HIDDEN, d.T)), cmap="PuOr", vmin=-1, vmax=1, aspect="auto",
                                    extent=(0.5, d.T + 0.5, HIDDEN - 0.5, -0.5))
        self.ax_h.set_xlabel("time step t")
        self.ax_h.set_ylabel("hidden unit")
        self.t_h = self.ax_h.set_title(" ", fontsize=9)
        t = np.arange(1, d.T + 1)
        self.lines = {name: self.ax_g.semilogy(t, np.ones(d.T), color=c, label=name)[0]
                      for name, c in COLOURS.items()}
        self.bound, = self.ax_g.semilogy(t, np.ones(d.T), ":", color=COLOURS["RNN"], lw=1,
                                         label="RNN bound ρ^(T−t)")
        self.ax_g.set_ylim(*YLIM)
        self.ax_g.set_xlim(1, d.T)
        self.ax_g.set_xlabel("time step t (the loss is at t = T)")
        self.ax_g.set_ylabel("‖∂L/∂h_t‖")
        self.ax_g.legend(fontsize=7, loc="lower right")
        self.t_g = self.ax_g.set_title(" ", fontsize=9)

    def update(self, d: UnrollData) -> list:
        self.img.set_data(d.states)
        self.t_h.set_text(f"{d.cell} hidden states h_t")
        for name, line in self.lines.items():
            line.set_ydata(np.clip(d.grad_norms[name], *YLIM))
            line.set_linewidth(3 if name == d.cell else 1)
            line.set_alpha(1 if name == d.cell else 0.55)
        self.bound.set_ydata(np.clip(d.bound, *YLIM))
        self.t_g.set_text(f"BPTT gradient, ρ = {d.scale:g}, gate bias {d.gate_bias:g}"
                          + (f", clipped to norm {d.max_norm:g}" if d.clip else ""))
        return [self.img, self.t_h, *self.lines.values(), self.bound, self.t_g]


def plot_unroller(fig, d: UnrollData) -> None:
    UnrollerView().plot(fig, d)
