r"""Overfitting lab: a 64-256-10 ReLU network on 100 digits, with dropout, weight decay and early stopping.

:func:`train_overfit_run` trains the network (full-batch Adam, lr 0.01) for a fixed number of
epochs and records the training and validation loss and accuracy after every epoch, in
eval mode. The L2 penalty :math:`\tfrac{\lambda}{2}\lVert W\rVert^2` covers the weights only
(a parameter group of the weights with ``weight_decay``, the biases without), dropout sits after the hidden layer
(:class:`dlcourse.layers.Dropout`). Early stopping is then replayed on the recorded
validation losses with :class:`dlcourse.regularization.EarlyStopping`: the stopping point for
any patience is known without training again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_seed
from ..data import load_digits
from ..layers import BatchNorm1d, Dropout, Linear, ReLU, Sequential, Sigmoid
from ..losses import cross_entropy
from ..optim import SGD, Adam
from ..plotting import CYCLE, PALETTE, View, legend_outside
from ..regularization import EarlyStopping, named_parameters
from ..train import fit, train_step
from .session import once, peek, stored
from .threads import single_threaded

DROPOUT = (0.0, 0.2, 0.5)
WEIGHT_DECAY = (0.0, 1e-4, 1e-3, 1e-2)
EPOCHS = 200


@lru_cache(maxsize=1)
def digits_subset(n_train: int = 100, n_val: int = 300, rng=0):
    """A small training set and a validation set of digits: ``X_train, X_val, y_train, y_val``."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    idx = np.random.default_rng(seed).permutation(len(X))
    tr, va = idx[:n_train], idx[n_train:n_train + n_val]
    return X[tr], X[va], y[tr], y[va]


class OverfitRun(NamedTuple):
    p: float
    weight_decay: float
    train_loss: np.ndarray   # (epochs,) cross-entropy in eval mode after each epoch
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    model: Sequential        # the network after the last epoch (in eval mode)


def make_network(p: float, hidden: int = 256, rng=0) -> Sequential:
    """Linear(64, hidden) → ReLU → Dropout(p) → Linear(hidden, 10)."""
    seed = as_seed(rng, "rng")
    return Sequential(Linear(64, hidden, rng=seed), ReLU(), Dropout(p, rng=seed + 1), Linear(hidden, 10, rng=seed + 2))


def _metrics(model, X, y):
    out = model.forward(X)
    return cross_entropy(out, y), float(np.mean(out.argmax(1) == y))


@single_threaded
def train_overfit_run(p: float = 0.0, weight_decay: float = 0.0, epochs: int = EPOCHS, rng=0,
                      progress: Callable[[int, int], None] | None = None) -> OverfitRun:
    """Train one run (once per setting and session); ``progress(done, total)`` every 20 epochs."""
    seed = as_seed(rng, "rng")
    return once(("overfit run", float(p), float(weight_decay), epochs, seed),
                lambda: _train_run(p, weight_decay, epochs, seed, progress))


def _train_run(p, weight_decay, epochs, seed, progress) -> OverfitRun:
    Xtr, Xva, ytr, yva = digits_subset()
    model = make_network(p, rng=seed)
    named = named_parameters(model)
    opt = Adam([{"params": [v for n, v in named.items() if n.endswith("weight")], "weight_decay": weight_decay},
                {"params": [v for n, v in named.items() if n.endswith("bias")], "weight_decay": 0.0}], lr=1e-2)
    hist = []

    def record(epoch, history):
        model.eval()
        hist.append(_metrics(model, Xtr, ytr) + _metrics(model, Xva, yva))
        if progress is not None and (epoch + 1) % 20 == 0:
            progress(epoch + 1, epochs)

    fit(model, Xtr, ytr, optimizer=opt, epochs=epochs, batch_size=len(Xtr), shuffle=False, progress=False,
        callbacks=[record])
    h = np.array(hist)
    return OverfitRun(float(p), float(weight_decay), h[:, 0], h[:, 2], h[:, 1], h[:, 3], model)


def replay_early_stopping(val_loss, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    """Feed the recorded validation losses to :class:`EarlyStopping`; return ``(stop_epoch, best_epoch)``.

    ``stop_epoch`` is the 0-based epoch after which training stops (the last epoch if it never does).
    """
    stopper = EarlyStopping(patience=patience, min_delta=min_delta)
    for epoch, v in enumerate(val_loss):
        if stopper.step(float(v)):
            return epoch, stopper.best_epoch
    return len(val_loss) - 1, stopper.best_epoch


class OverfitData(NamedTuple):
    run: OverfitRun
    patience: int
    stop_epoch: int
    best_epoch: int
    others: tuple              # every other cached run, for comparison
    requested: tuple           # (p, weight_decay) set on the controls
    pending: bool              # True when the shown run is not the requested one (press Run)


def compute_overfit(p: float = 0.0, weight_decay: float = 0.0, patience: int = 10) -> OverfitData:
    """Look the run up (train it with :func:`train_overfit_run`) and replay early stopping on it."""
    run = peek(("overfit run", float(p), float(weight_decay), EPOCHS, 0))
    pending = run is None
    if pending:
        run = (stored("overfit run") or [train_overfit_run()])[0]
    stop, best = replay_early_stopping(run.val_loss, patience)
    others = tuple(r for r in stored("overfit run") if r is not run)
    return OverfitData(run, patience, stop, best, others, (p, weight_decay), pending)


def run_label(run: OverfitRun) -> str:
    return f"p = {run.p}, λ = {run.weight_decay:g}"


def describe_overfit(d: OverfitData) -> str:
    r, s, b = d.run, d.stop_epoch, d.best_epoch
    text = (f"{run_label(r)}: early stopping with patience {d.patience} stops after epoch {s + 1} and restores "
            f"epoch {b + 1} (validation loss {r.val_loss[b]:.3f}, accuracy {r.val_acc[b]:.1%}); training all "
            f"{len(r.val_loss)} epochs ends at validation loss {r.val_loss[-1]:.3f}, accuracy {r.val_acc[-1]:.1%}.")
    if d.pending:
        text = (f"<b>Showing {run_label(r)}; press Run to train p = {d.requested[0]}, "
                f"λ = {d.requested[1]:g}.</b> " + text)
    return text


class OverfitView(View):
    """Loss curves with the stopping point (left), accuracies (middle), every run's validation loss (right)."""

    def key(self, d: OverfitData):
        return (d.run.p, d.run.weight_decay, len(d.others))

    def setup(self, fig, d: OverfitData) -> None:
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.17, top=0.84, wspace=0.3)
        r = d.run
        e = np.arange(1, len(r.train_loss) + 1)
        self.ax1, self.ax2, self.ax3 = ax1, ax2, ax3 = fig.subplots(1, 3)
        ax1.semilogy(e, r.train_loss, color=PALETTE["blue"], label="training")
        ax1.semilogy(e, r.val_loss, color=PALETTE["orange"], label="validation")
        ax1.set_ylim(1e-3, 5)
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("cross-entropy")
        ax1.set_title(f"loss, {run_label(r)}", fontsize=9)
        ax2.plot(e, r.train_acc, color=PALETTE["blue"], label="training")
        ax2.plot(e, r.val_acc, color=PALETTE["orange"], label="validation")
        ax2.set_ylim(0.5, 1.01)
        ax2.set_xlabel("epoch")
        ax2.set_title("accuracy", fontsize=9)
        self.best = [ax.axvline(1, color=PALETTE["green"], lw=1.2, label="best (restored)") for ax in (ax1, ax2)]
        self.stop = [ax.axvline(1, color="k", ls="--", lw=1, label="stop") for ax in (ax1, ax2)]
        self.shade = [ax.axvspan(1, e[-1], color="#ddd", alpha=0.5, lw=0) for ax in (ax1, ax2)]
        legend_outside(ax1, "below", ncol=2)
        for i, other in enumerate(d.others[-5:]):
            ax3.plot(e, other.val_loss, color=CYCLE[(i + 1) % 8], lw=1, alpha=0.8, label=run_label(other))
        ax3.plot(e, r.val_loss, color="k", lw=2, label=run_label(r))
        ax3.set_ylim(0.1, 1.5)
        ax3.set_yscale("log")
        ax3.set_xlabel("epoch")
        ax3.set_title("validation loss of each run", fontsize=9)
        legend_outside(ax3, "below", ncol=2)
        self.title = fig.suptitle(" ", fontsize=9, y=0.995)

    def update(self, d: OverfitData) -> list:
        end = len(d.run.val_loss)
        for line in self.best:
            line.set_xdata([d.best_epoch + 1] * 2)
        for line in self.stop:
            line.set_xdata([d.stop_epoch + 1] * 2)
        for patch in self.shade:
            patch.set_x(d.stop_epoch + 1)
            patch.set_width(max(end - d.stop_epoch - 1, 0))
        self.title.set_text(f"patience {d.patience}: stop after epoch {d.stop_epoch + 1}, restore epoch "
                            f"{d.best_epoch + 1} (grey: epochs never run)"
                            + ("  —  press Run to train the new settings" if d.pending else ""))
        return [*self.shade, *self.best, *self.stop, self.title]


# --------------------------------------------------------------------- batch norm and noise injection
def deep_sigmoid_net(batchnorm: bool, depth: int = 4, width: int = 64, rng=0) -> Sequential:
    """``depth`` blocks Linear → (BatchNorm1d) → Sigmoid, then Linear(width, 10)."""
    seed = as_seed(rng, "rng")
    layers, d = [], 64
    for i in range(depth):
        layers += [Linear(d, width, rng=seed + i)] + ([BatchNorm1d(width)] if batchnorm else []) + [Sigmoid()]
        d = width
    return Sequential(*layers, Linear(d, 10, rng=seed + 99))


@single_threaded
def batchnorm_experiment(steps: int = 100, n: int = 200, lr: float = 0.5, rng=0) -> dict:
    """Full-batch SGD on ``n`` digits with and without batch norm: ``{batchnorm: (losses, accuracy)}``."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    X, y = X[:n], y[:n]
    out = {}
    for bn in (False, True):
        model = deep_sigmoid_net(bn, rng=seed)
        history = fit(model, X, y, optimizer=SGD(model.parameters(), lr=lr), epochs=steps, batch_size=len(X),
                      shuffle=False, progress=False)
        out[bn] = (np.array(history["loss"]), float(np.mean(model.forward(X).argmax(1) == y)))
    return out


@single_threaded
def noise_injection_fit(X, y, sigma: float, steps: int = 10000, lr: float = 0.05, burn_in: int = 2000,
                        rng=0) -> np.ndarray:
    r"""Least squares trained by gradient descent on inputs with fresh :math:`\mathcal N(0, \sigma^2)` noise each step.

    Returns the average of the iterates after ``burn_in`` steps. Since
    :math:`\mathbb E\,\tfrac{1}{2n}\lVert y - (X + E)w\rVert^2
    = \tfrac{1}{2n}\lVert y - Xw\rVert^2 + \tfrac{\sigma^2}{2}\lVert w\rVert^2`,
    it approaches ridge regression with :math:`\alpha = \sigma^2` (Bishop, 1995). ``X`` and ``y`` should be centred.

    Each step is :func:`dlcourse.train.train_step` of a bias-free ``Linear(d, 1)`` (from zero) on a fresh noisy
    copy of the inputs (which :func:`dlcourse.train.fit`'s fixed ``X`` cannot give); its ``"mse"`` is twice the
    loss above, so :class:`dlcourse.optim.SGD` runs at ``lr / 2``.
    """
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    model = Linear(X.shape[1], 1, bias=False, rng=seed)
    w = model.weight[0]                                  # a view: the optimizer updates it in place
    w[:] = 0.0
    opt, target, total = SGD(model.parameters(), lr=lr / 2), np.asarray(y)[:, None], np.zeros(X.shape[1])
    for step in range(steps):
        train_step(model, X + rng.normal(0.0, sigma, X.shape), target, "mse", opt)
        if step >= burn_in:
            total += w
    return total / (steps - burn_in)


@single_threaded
def thinned_average(model: Sequential, X, n_masks: int = 200, rng=0) -> np.ndarray:
    """The average output of ``n_masks`` randomly thinned copies of ``model`` (dropout on, as in training).

    Compare with ``model.eval().forward(X)``: inverted dropout's evaluation mode approximates this average.
    The model is left in eval mode.
    """
    seed = as_seed(rng, "rng")
    drops = [layer for layer in getattr(model, "layers", []) if isinstance(layer, Dropout)]
    for k, layer in enumerate(drops):
        layer.rng = np.random.default_rng(seed + k)
    model.train()
    try:
        return np.mean([model.forward(X) for _ in range(n_masks)], axis=0)
    finally:
        model.eval()
