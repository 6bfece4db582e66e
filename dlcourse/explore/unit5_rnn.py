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

``model.zero_grad()`` here clears the gradients of a backward pass used as a measurement (the gradient norms
through time of one backward pass of each cell); nothing is updated, so it is not a training loop and does not
go through :func:`dlcourse.train.train_step`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..layers.recurrent import GRU, LSTM, RNN
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside

CELLS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
COLOURS = {"RNN": PALETTE["vermillion"], "LSTM": PALETTE["blue"], "GRU": PALETTE["green"]}
HIDDEN, INPUTS, BATCH = 16, 4, 8
MAX_T = 100
YLIM = (1e-12, 1e8)


def _orthogonal(n: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def make_cell(cell: str, scale: float = 1.0, gate_bias: float = 0.0, rng=0):
    r"""A one-layer ``cell`` (RNN / LSTM / GRU) with ``weight_hh = scale × orthogonal`` per gate block.

    ``gate_bias`` is added to the LSTM's forget-gate biases or to the GRU's update-gate
    (:math:`z`) biases (a large value keeps those gates near 1, so the state is carried).
    """
    seed = as_seed(rng, "rng")
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


@lru_cache(maxsize=64)
def _run_cells(T: int, scale: float, gate_bias: float, rng):
    """Forward and backward of the three cells on one input; per cell: states, ‖∂L/∂h_t‖ and ‖∂L/∂θ‖."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(0.0, 1.0, (T, BATCH, INPUTS))
    v = rng.normal(size=(BATCH, HIDDEN))
    out_by_cell = {}
    for name in CELLS:
        layer = make_cell(name, scale, gate_bias, seed)
        out, _ = layer.forward(x)
        g = np.zeros_like(out)
        g[-1] = v
        layer.zero_grad()
        layer.backward(g)
        total = float(np.sqrt(sum(np.sum(gr * gr) for gr in layer.gradients())))
        out_by_cell[name] = (out[:, 0, :].T, layer.last_grad_norms, total)
    return out_by_cell


def compute_unroller(cell: str = "RNN", T: int = 40, scale: float = 1.0, gate_bias: float = 0.0,
                     clip: bool = False, max_norm: float = 1.0, rng=0) -> UnrollData:
    r"""Hidden states of ``cell`` and the per-step gradient norms of all three cells (see the module).

    With ``clip``, every gradient is scaled as ``clip_grad_norm`` would scale it: by
    :math:`\min(1, \text{max\_norm} / \lVert \partial L / \partial \theta \rVert)`.
    """
    seed = as_seed(rng, "rng")
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}")
    runs = _run_cells(int(T), float(scale), float(gate_bias), int(seed))
    norms, pnorms = {}, {}
    for name, (_, grad_norms, total) in runs.items():
        factor = min(1.0, max_norm / total) if clip and total > 0 else 1.0
        norms[name], pnorms[name] = grad_norms * factor, total
    steps = np.arange(T)
    bound = norms["RNN"][-1] * float(scale) ** (T - 1 - steps)
    return UnrollData(cell, T, scale, gate_bias, clip, max_norm, runs[cell][0], norms, pnorms, bound)


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

    def setup(self, fig, d: UnrollData) -> None:
        self.ax_h, self.ax_g = fig.subplots(1, 2, width_ratios=[1, 1.3])
        self.img = self.ax_h.imshow(np.zeros((HIDDEN, 2)), cmap=DIVERGING, vmin=-1, vmax=1, aspect="auto")
        colorbar(self.ax_h, self.img, label="$h_t$ (unit's value)", ticks=[-1, 0, 1])
        self.ax_h.set_xlim(0.5, MAX_T + 0.5)
        self.ax_h.set_ylim(HIDDEN - 0.5, -0.5)
        self.ax_h.set_xlabel("time step t")
        self.ax_h.set_ylabel("hidden unit")
        self.t_h = self.ax_h.set_title(" ", fontsize=9)
        self.lines = {name: self.ax_g.semilogy([], [], color=c, label=name)[0] for name, c in COLOURS.items()}
        self.bound, = self.ax_g.semilogy([], [], ":", color=COLOURS["RNN"], lw=1, label=r"RNN bound $\rho^{T-t}$")
        self.ax_g.set_ylim(*YLIM)
        self.ax_g.set_xlim(1, MAX_T)
        self.ax_g.set_xlabel("time step t  (the loss is at t = T; backpropagation runs ←)")
        self.ax_g.set_ylabel(r"$\|\partial L/\partial h_t\|$")
        legend_outside(self.ax_g, "right")
        self.t_g = self.ax_g.set_title(" ", fontsize=9)

    def update(self, d: UnrollData) -> list:
        self.img.set_data(d.states)
        self.img.set_extent((0.5, d.T + 0.5, HIDDEN - 0.5, -0.5))
        t = np.arange(1, d.T + 1)
        self.t_h.set_text(f"{d.cell} hidden states $h_t$")
        for name, line in self.lines.items():
            line.set_data(t, np.clip(d.grad_norms[name], *YLIM))
            line.set_linewidth(3 if name == d.cell else 1)
            line.set_alpha(1 if name == d.cell else 0.55)
        self.bound.set_data(t, np.clip(d.bound, *YLIM))
        self.t_g.set_text(f"BPTT gradient, ρ = {d.scale:g}, gate bias {d.gate_bias:g}"
                          + (f", clipped to norm {d.max_norm:g}" if d.clip else ""))
        return [self.img, self.t_h, *self.lines.values(), self.bound, self.t_g]


# --------------------------------------------------------------------------- diagrams
def _box(ax, x, y, text, colour, w=0.7, h=0.5, fontsize=9):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=colour, ec="k", lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text="", colour="k", fontsize=9, offset=(0.0, 0.0)):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color=colour, lw=1))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text, fontsize=fontsize,
                ha="center", va="center", color=colour)


IO_COLOURS = {"x": "#cfe8d9", "h": "#cde0f0", "y": "#f8e2bd"}


def _chain(ax, inputs, outputs, title, subtitle):
    """Hidden states in a row; an input below position t if ``inputs[t]``, an output above if ``outputs[t]``."""
    n = len(inputs)
    for t in range(n):
        _box(ax, t, 0, "h", IO_COLOURS["h"])
        if t:
            _arrow(ax, (t - 0.65, 0), (t - 0.35, 0))
        if inputs[t]:
            _box(ax, t, -1, "x", IO_COLOURS["x"])
            _arrow(ax, (t, -0.75), (t, -0.25))
        if outputs[t]:
            _box(ax, t, 1, "y", IO_COLOURS["y"])
            _arrow(ax, (t, 0.25), (t, 0.75))
    ax.set_xlim(-0.6, max(n, 3) - 0.4)
    ax.set_ylim(-1.5, 1.9)
    ax.set_title(f"{title}\n{subtitle}", fontsize=9)
    ax.axis("off")


IO_PATTERNS = {
    "one-to-one": ([1], [1], "a feed-forward net"),
    "one-to-many": ([1, 0, 0, 0], [0, 1, 1, 1], "image → caption"),
    "many-to-one": ([1, 1, 1, 1], [0, 0, 0, 1], "sentence → sentiment"),
    "many-to-many (aligned)": ([1, 1, 1, 1], [1, 1, 1, 1], "per-step tags, next value"),
    "many-to-many (encoder–decoder)": ([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], "translation"),
}


def plot_io_patterns(fig) -> None:
    """The four input/output patterns of recurrent networks (many-to-many drawn in its two forms)."""
    fig.subplots_adjust(top=0.78, bottom=0.02, left=0.01, right=0.99, wspace=0.15)
    axes = fig.subplots(1, len(IO_PATTERNS), width_ratios=[1, 1.5, 1.5, 1.5, 2])
    for ax, (name, (inputs, outputs, example)) in zip(axes, IO_PATTERNS.items()):
        _chain(ax, inputs, outputs, name, example)


def plot_unrolled(fig, T: int = 4) -> None:
    """An RNN drawn folded (one cell with a loop) and unrolled over ``T`` steps with its shared weights."""
    fig.subplots_adjust(top=0.85, bottom=0.02, left=0.02, right=0.98)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1.5 * T + 1])
    _box(ax1, 0, 0, "$h_t$", IO_COLOURS["h"])
    _box(ax1, 0, -1, "$x_t$", IO_COLOURS["x"])
    _box(ax1, 0, 1, "$y_t$", IO_COLOURS["y"])
    _arrow(ax1, (0, -0.75), (0, -0.25), "$W_{ih}$", offset=(0.4, 0))
    _arrow(ax1, (0, 0.25), (0, 0.75), "$W_{hy}$", offset=(0.4, 0))
    ax1.annotate("", xy=(0.36, -0.12), xytext=(0.36, 0.12),
                 arrowprops=dict(arrowstyle="->", connectionstyle="arc3,rad=-1.8", lw=1))
    ax1.text(0.85, 0, "$W_{hh}$", fontsize=9, va="center")
    ax1.set_xlim(-0.6, 1.3)
    ax1.set_ylim(-1.5, 1.5)
    ax1.set_title("folded", fontsize=9)
    ax1.axis("off")
    gap = 1.5
    _box(ax2, -gap, 0, "$h_0$", "#eeeeee")
    for t in range(T):
        x = gap * t
        _box(ax2, x, 0, f"$h_{{{t + 1}}}$", IO_COLOURS["h"])
        _box(ax2, x, -1, f"$x_{{{t + 1}}}$", IO_COLOURS["x"])
        _box(ax2, x, 1, f"$y_{{{t + 1}}}$", IO_COLOURS["y"])
        _arrow(ax2, (x - gap + 0.37, 0), (x - 0.37, 0), "$W_{hh}$", offset=(0, 0.15))
        _arrow(ax2, (x, -0.75), (x, -0.25), "$W_{ih}$", offset=(0.3, 0))
        _arrow(ax2, (x, 0.25), (x, 0.75), "$W_{hy}$", offset=(0.3, 0))
    ax2.set_xlim(-gap - 0.5, gap * (T - 1) + 0.6)
    ax2.set_ylim(-1.5, 1.5)
    ax2.set_title(f"unrolled over {T} steps: the same three matrices at every step", fontsize=9)
    ax2.axis("off")
