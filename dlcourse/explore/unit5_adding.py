r"""The adding problem: training RNN / LSTM / GRU in PyTorch, cached learning curves, and an LSTM gate inspector.

:func:`train_adding` trains a one-layer recurrent network with a linear read-out of its
last hidden state (many-to-one) on fresh batches of :func:`dlcourse.sequences.make_adding_problem`
and records the test MSE. :func:`compute_adding` serves the learning curves that
:mod:`dlcourse.explore.unit5_cached` stores (computed with :func:`precompute_adding_curves`)
so that the widget answers instantly; a Run button retrains one length live.

:func:`compute_gates` copies a trained torch LSTM into :class:`dlcourse.layers.LSTM` and
reads its gates :math:`i, f, o` and cell state :math:`c` at every step of one sequence.

The training of :func:`train_adding` (with gradient clipping and an evaluation every few steps) stays outside
:func:`dlcourse.train.fit` (issue 14): it trains torch modules with ``torch.optim`` in float32, and ``fit`` /
``train_step`` train :mod:`dlcourse.layers` modules with :mod:`dlcourse.optim`; rewriting it in NumPy would
change every number the notebook prints. Each of its steps is
:func:`~dlcourse.explore.unit5_common.torch_train_step`, the torch counterpart of ``train_step``.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..layers.recurrent import LSTM, lstm_cell_forward
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside
from ..sequences import ADDING_BASELINE_MSE, make_adding_problem
from .session import once, peek, store
from .unit5_common import torch_threads, torch_train_step
from .unit5_rnn import COLOURS

TEST_SEED = 12345
DEFAULTS = dict(hidden=16, steps=500, batch_size=64, lr=0.02, clip=1.0, eval_every=25)


def sequence_regressor(kind: str, input_size: int = 2, hidden: int = 16):
    """``torch.nn`` RNN / LSTM / GRU (time first) followed by a Linear read-out of the last hidden state."""
    import torch.nn as nn

    cells = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
    if kind not in cells:
        raise ValueError(f"kind must be one of {list(cells)}, got {kind!r}")

    class ManyToOne(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = cells[kind](input_size, hidden)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):                      # x: (T, N, D)
            out, _ = self.rnn(x)
            return self.head(out[-1]).squeeze(-1)  # (N,)

    return ManyToOne()


class AddingRun(NamedTuple):
    kind: str
    seq_len: int
    model: object
    steps: np.ndarray      # the training steps at which the test MSE was measured
    test_mse: np.ndarray
    seconds: float


def train_adding(kind: str = "LSTM", seq_len: int = 50, hidden: int = 16, steps: int = 800, batch_size: int = 64,
                 lr: float = 0.02, clip: float = 1.0, eval_every: int = 25, rng=0,
                 progress: bool = True, callback=None) -> AddingRun:
    """Train :func:`sequence_regressor` on the adding problem with Adam and gradient-norm clipping.

    Every step draws a fresh batch (seeded); every ``eval_every`` steps the MSE on 1,000
    fixed test sequences is recorded (and ``callback(step, mse)`` called, if given).
    Float32, one torch thread; deterministic for a given ``seed`` on a given machine.
    """
    seed = as_seed(rng, "rng")
    import torch
    from .._progress import progress_bar

    test = make_adding_problem(1000, seq_len, rng=TEST_SEED)
    Xte, yte = torch.tensor(test.X, dtype=torch.float32), torch.tensor(test.y, dtype=torch.float32)
    rng = np.random.default_rng(seed + 1)
    record_steps, record_mse = [], []
    with torch_threads(1):
        torch.manual_seed(seed)
        model = sequence_regressor(kind, 2, hidden).float()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        start = time.perf_counter()
        for step in (bar := progress_bar(range(1, steps + 1), f"{kind}, T = {seq_len}", enabled=progress,
                                         mininterval=0.5)):
            batch = make_adding_problem(batch_size, seq_len, rng=rng)
            xb, yb = torch.tensor(batch.X, dtype=torch.float32), torch.tensor(batch.y, dtype=torch.float32)
            torch_train_step(torch.mean((model(xb) - yb) ** 2), opt, clip_grad_norm=clip)
            if step % eval_every == 0:
                with torch.no_grad():
                    mse = torch.mean((model(Xte) - yte) ** 2).item()
                record_steps.append(step)
                record_mse.append(mse)
                bar.set_postfix(test_mse=f"{mse:.4f}")
                if callback is not None:
                    callback(step, mse)
    return AddingRun(kind, seq_len, model.eval(), np.array(record_steps), np.array(record_mse),
                     time.perf_counter() - start)


LENGTHS = (10, 25, 50, 100)


def precompute_adding_curves(lengths=LENGTHS, kinds=("RNN", "LSTM", "GRU"), progress: bool = True, **kw) -> dict:
    """``{(kind, T): (steps, test_mse)}`` for every length and kind (what ``unit5_cached`` stores)."""
    settings = DEFAULTS | {"steps": 1500} | kw
    out = {}
    for T in lengths:
        for kind in kinds:
            run = train_adding(kind, T, progress=progress, **settings)
            out[(kind, T)] = (run.steps.tolist(), [round(float(m), 5) for m in run.test_mse])
    return out


def adding_curves(seq_len: int) -> dict:
    """Learning curves ``{kind: (steps, test_mse)}`` for ``seq_len``: retrained ones first, else the cache."""
    from .unit5_cached import ADDING_CURVES, ADDING_STEPS

    out = {}
    for kind in ("RNN", "LSTM", "GRU"):
        steps, mse = peek(("adding live", kind, seq_len)) or (ADDING_STEPS, ADDING_CURVES[(kind, seq_len)])
        out[kind] = (np.asarray(steps), np.asarray(mse))
    return out


class AddingData(NamedTuple):
    seq_len: int
    curves: dict           # kind -> (steps, test MSE)
    live: bool             # retrained in this session rather than read from the cache


def compute_adding(seq_len: int = 50) -> AddingData:
    if seq_len not in LENGTHS:
        raise ValueError(f"seq_len must be one of {LENGTHS}, got {seq_len!r}")
    live = any(peek(("adding live", kind, seq_len)) is not None for kind in ("RNN", "LSTM", "GRU"))
    return AddingData(seq_len, adding_curves(seq_len), live)


def retrain(seq_len: int, callback=None) -> None:
    """Retrain the three cells at ``seq_len`` (same settings as the cache) and keep the curves for this session."""
    for kind in ("RNN", "LSTM", "GRU"):
        run = train_adding(kind, seq_len, progress=False, callback=callback, **(DEFAULTS | {"steps": 1500}))
        store(("adding live", kind, seq_len), (run.steps, run.test_mse))


def describe_adding(d: AddingData) -> str:
    final = {k: float(np.min(m[-4:])) for k, (_, m) in d.curves.items()}
    solved = [k for k, v in final.items() if v < 0.1 * ADDING_BASELINE_MSE]
    src = "retrained in this session" if d.live else "cached (press Run to retrain)"
    return (f"T = {d.seq_len}: final test MSE " + ", ".join(f"{k} {v:.4f}" for k, v in final.items())
            + f" (baseline {ADDING_BASELINE_MSE:.4f}). Solved: {', '.join(solved) or 'none'}. Curves {src}.")


class AddingView(View):
    """Test MSE against training step for the three cells, with the predict-the-mean baseline."""

    def setup(self, fig, d: AddingData) -> None:
        fig.subplots_adjust(left=0.12)
        self.ax = fig.subplots()
        self.lines = {k: self.ax.semilogy([], [], color=c, lw=2, label=k)[0] for k, c in COLOURS.items()}
        self.ax.axhline(ADDING_BASELINE_MSE, color="k", ls="--", lw=1, label="predict the mean (1/6)")
        self.ax.set_xlim(0, 1500)
        self.ax.set_ylim(1e-4, 1)
        self.ax.set_xlabel("training step (batches of 64)")
        self.ax.set_ylabel("test MSE")
        legend_outside(self.ax, "right")
        self.title = self.ax.set_title(" ", fontsize=9)

    def update(self, d: AddingData) -> list:
        for kind, line in self.lines.items():
            line.set_data(*d.curves[kind])
        self.title.set_text(f"adding problem, sequences of T = {d.seq_len} steps")
        return [*self.lines.values(), self.title]


# --------------------------------------------------------------------------- gate inspector
def trained_adding_model(kind: str = "LSTM", seq_len: int = 50, progress: bool = False) -> AddingRun:
    """:func:`train_adding` with the defaults, once per session (shared by the notebook and the inspector)."""
    return once(("adding", kind, seq_len), lambda: train_adding(kind, seq_len, progress=progress, **DEFAULTS))


class GateData(NamedTuple):
    index: int
    x: np.ndarray          # (T, 2)
    target: float
    prediction: float
    gates: dict            # "input i", "forget f", "output o", "cell c": (H, T)
    order: np.ndarray      # units sorted by |read-out weight|, most important first


def lstm_gates(layer: LSTM, x: np.ndarray) -> dict:
    """Gates and cell state of ``layer`` at every step for one sequence ``x`` of shape (T, D): each (H, T)."""
    H = layer.hidden_size
    h, c = np.zeros((1, H)), np.zeros((1, H))
    rows = {"input i": [], "forget f": [], "output o": [], "cell c": []}
    p = layer.params
    for x_t in x:
        h, c, cache = lstm_cell_forward(x_t[None], h, c, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
        rows["input i"].append(cache.i[0])
        rows["forget f"].append(cache.f[0])
        rows["output o"].append(cache.o[0])
        rows["cell c"].append(c[0])
    return {k: np.array(v).T for k, v in rows.items()}


def _inspected(seq_len: int = 50):
    return once(("gate inspector", seq_len), lambda: _make_inspected(seq_len))


def _make_inspected(seq_len):
    run = trained_adding_model("LSTM", seq_len)
    layer = LSTM(2, run.model.rnn.hidden_size)
    layer.load_torch(run.model.rnn)
    w = run.model.head.weight.detach().double().numpy()[0]
    b = float(run.model.head.bias.detach().double()[0])
    return layer, w, b, make_adding_problem(200, seq_len, rng=TEST_SEED + 1)


def compute_gates(index: int = 0, seq_len: int = 50) -> GateData:
    """The trained LSTM's gates on test sequence ``index`` of the adding problem."""
    layer, w, b, data = _inspected(seq_len)
    i = int(index) % data.X.shape[1]
    x = data.X[:, i, :]
    gates = lstm_gates(layer, x)
    h_last = gates["output o"][:, -1] * np.tanh(gates["cell c"][:, -1])
    return GateData(i, x, float(data.y[i]), float(w @ h_last + b), gates, np.argsort(-np.abs(w)))


class GateView(View):
    """The input sequence with its two markers, then i, f, o and c (units × time), units by importance."""

    NAMES = ("input i", "forget f", "output o", "cell c")

    def setup(self, fig, d: GateData) -> None:
        T = len(d.x)
        axes = fig.subplots(5, 1, sharex=True, height_ratios=[1, 1.4, 1.4, 1.4, 1.4])
        self.ax_x, self.axes = axes[0], axes[1:]
        self.values, = self.ax_x.plot(np.arange(T), d.x[:, 0], ".-", color="#777777", lw=0.8, ms=3)
        self.ax_x.set_ylim(-0.1, 1.1)
        self.ax_x.set_ylabel("$x_t$", fontsize=9)
        self.title = self.ax_x.set_title(" ", fontsize=9)
        H = len(d.order)
        self.images = []
        for ax, name in zip(self.axes, self.NAMES):
            cmap, lim = (DIVERGING, (-2, 2)) if name == "cell c" else ("viridis", (0, 1))
            self.images.append(ax.imshow(np.zeros((H, T)), aspect="auto", cmap=cmap, vmin=lim[0], vmax=lim[1],
                                         extent=(-0.5, T - 0.5, H - 0.5, -0.5), interpolation="nearest"))
            ax.set_ylabel(name, fontsize=9)
            ax.set_yticks([])
        fig.subplots_adjust(right=0.9)   # a colour bar beside each heatmap, the x-axes still aligned
        for ax, image in zip(self.axes, self.images):
            pos = ax.get_position()
            colorbar(ax, image, cax=fig.add_axes([pos.x1 + 0.012, pos.y0, 0.012, pos.height]),
                     ticks=image.get_clim())
        self.axes[-1].set_xlabel("time step (units sorted by read-out weight, most important on top)")
        from matplotlib.collections import LineCollection

        self.marks = [ax.add_collection(LineCollection([], colors=PALETTE["vermillion"], linewidths=1, alpha=0.8),
                                        autolim=False) for ax in (self.ax_x, *self.axes)]
        self.dots, = self.ax_x.plot([], [], "o", color=PALETTE["vermillion"], ms=6)

    def update(self, d: GateData) -> list:
        self.values.set_ydata(d.x[:, 0])
        marks = np.flatnonzero(d.x[:, 1])
        for ax, lines in zip((self.ax_x, *self.axes), self.marks):
            y0, y1 = ax.get_ylim()
            lines.set_segments([[(t, y0), (t, y1)] for t in marks])
        self.dots.set_data(marks, d.x[marks, 0])
        for img, name in zip(self.images, self.NAMES):
            img.set_data(d.gates[name][d.order])
        self.title.set_text(f"sequence {d.index}: marked {d.x[marks[0], 0]:.2f} + {d.x[marks[1], 0]:.2f} "
                            f"= {d.target:.3f}; the LSTM says {d.prediction:.3f}")
        return [self.values, *self.images, self.title, *self.marks, self.dots]


def write_cache(path, curves: dict | None = None) -> None:
    """Write :func:`precompute_adding_curves`' result as the Python module ``unit5_cached``."""
    from pathlib import Path

    curves = precompute_adding_curves(progress=False) if curves is None else curves
    steps = {tuple(v[0]) for v in curves.values()}
    if len(steps) != 1:
        raise ValueError("every curve must be measured at the same steps")
    (steps,) = steps
    lines = ['"""Learning curves of the adding problem, precomputed by',
             '``dlcourse.explore.unit5_adding.write_cache(path)`` (``DEFAULTS`` with 1,500 steps, seed 0).',
             "",
             "``ADDING_CURVES[(cell, T)]`` is the test MSE (1,000 fixed sequences) at each of ``ADDING_STEPS``.",
             'Stored so that the widget answers instantly; its Run button retrains one length live.', '"""', "",
             f"ADDING_STEPS = list(range({steps[0]}, {steps[-1] + 1}, {steps[1] - steps[0]}))", "",
             "ADDING_CURVES = {"]
    for key, (_, mse) in curves.items():
        lines.append(f"    {key!r}: [")
        wrapped, line = [], ""
        for item in (f"{m:.5f}" for m in mse):
            if len(line) + len(item) + 2 > 104:
                wrapped.append(line.rstrip())
                line = ""
            line += item + ", "
        wrapped.append(line.rstrip())
        lines += [f"        {w}" for w in wrapped]
        lines.append("    ],")
    lines.append("}")
    Path(path).write_text("\n".join(lines) + "\n")
