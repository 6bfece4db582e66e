"""Learning-rate schedules and their effect on a training run (Unit 3, "Learning-rate schedules").

:func:`schedule_table` evaluates the four schedules of :mod:`dlcourse.optim.schedules`
(and a constant rate), optionally behind a linear warm-up, epoch by epoch;
:func:`train_with_schedules` trains the same softmax regression on the digits with each
of them, all in one vectorised loop (the same mini-batches for every schedule), and
:func:`compute_schedules` feeds the schedule explorer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed, check_number, check_positive_int
from ..activations import log_softmax, softmax
from ..optim import SGD
from ..optim.schedules import (cosine_annealing, exponential_decay, inverse_time_decay, linear_warmup,
                               step_decay)
from ..plotting import CYCLE, View
from .threads import single_threaded
from .unit3_common import TextPanel

EPOCHS = 15
LR0_CHOICES = (0.1, 0.3, 1.0, 3.0)


def schedule_table(lr0: float, epochs: int = EPOCHS, warmup: int = 0) -> dict:
    """Learning rate per epoch (array of ``epochs``) for each schedule, times a linear warm-up of ``warmup`` epochs.

    The decays are set relative to the run: inverse time with :math:`k = 0.5`, step decay by
    0.2 every third of the run, exponential decay by 0.8 per epoch, cosine over the whole run.
    """
    lr0 = check_number(lr0, "lr0", low=0.0, low_open=True)
    epochs = check_positive_int(epochs, "epochs")
    t = np.arange(epochs)
    table = {
        "constant": np.full(epochs, lr0),
        "inverse time": inverse_time_decay(lr0, 0.5, t),
        "step": step_decay(lr0, max(1, epochs // 3), 0.2, t),
        "exponential": exponential_decay(lr0, 0.8, t),
        "cosine": cosine_annealing(lr0, epochs, t),
    }
    if warmup:
        ramp = linear_warmup(1.0, check_positive_int(warmup, "warmup"), t)
        table = {k: v * ramp for k, v in table.items()}
    return table


@lru_cache(maxsize=1)
def digits_with_bias():
    from ..data import load_digits

    X, y = load_digits()
    return np.hstack([X, np.ones((len(X), 1))]), y


def _mean_xent(X1, y, W, K) -> np.ndarray:
    logp = log_softmax((X1 @ W).reshape(len(X1), K, 10))
    return -logp[np.arange(len(X1)), :, y].mean(0)


@lru_cache(maxsize=64)
@single_threaded
def train_with_schedules(lr0: float, warmup: int = 0, epochs: int = EPOCHS, batch_size: int = 64,
                         momentum: float = 0.9, rng=0):
    """Softmax regression on the 1797 digits by SGD with momentum, once per schedule.

    Returns ``(names, rates, losses)``: the schedules, their rates ``(K, epochs)`` and the
    training cross-entropy after each epoch ``(K, epochs + 1)`` (the first column at the
    start). All runs see the same shuffles; the weights of the ``K`` runs sit side by side
    in one matrix, so each step is one matrix product for all of them. One
    :class:`dlcourse.optim.SGD` updates them, with one parameter group per schedule (the
    run's block of columns) whose ``param_groups[k]["lr"]`` is set at the start of every epoch.
    """
    seed = as_seed(rng, "rng")
    table = schedule_table(lr0, epochs, warmup)
    names, rates = tuple(table), np.array(list(table.values()))
    X1, y = digits_with_bias()
    n, d, K = len(X1), X1.shape[1], len(names)
    W = np.zeros((d, K * 10))
    blocks = [slice(10 * k, 10 * (k + 1)) for k in range(K)]
    opt = SGD([{"params": [W[:, b]]} for b in blocks], lr=float(rates[0, 0]), momentum=momentum)
    rng = np.random.default_rng(seed)
    losses = [_mean_xent(X1, y, W, K)]
    for e in range(epochs):
        for group, rate in zip(opt.param_groups, rates[:, e]):
            group["lr"] = float(rate)
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            Xb, m = X1[idx], len(idx)
            P = softmax((Xb @ W).reshape(m, K, 10))
            P[np.arange(m), :, y[idx]] -= 1.0
            G = Xb.T @ P.reshape(m, K * 10) / m         # the gradient of every run's mean cross-entropy
            opt.step([G[:, b] for b in blocks])         # updates W's blocks (views) in place
        losses.append(_mean_xent(X1, y, W, K))
    return names, rates, np.array(losses).T


class ScheduleData(NamedTuple):
    lr0: float
    warmup: int
    highlight: str
    names: tuple
    rates: np.ndarray
    losses: np.ndarray


def compute_schedules(lr0: float = 1.0, warmup: int = 0, highlight: str = "cosine") -> ScheduleData:
    names, rates, losses = train_with_schedules(float(lr0), int(warmup))
    if highlight not in names:
        raise ValueError(f"highlight must be one of {list(names)}, got {highlight!r}")
    return ScheduleData(float(lr0), int(warmup), highlight, names, rates, losses)


class ScheduleView(View):
    """The rate per epoch, the training loss per epoch, and the final losses."""

    def key(self, d: ScheduleData):
        return (d.names, d.rates.shape)

    def setup(self, fig, d: ScheduleData) -> None:
        gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 0.7])
        ax1, ax2, ax3 = (fig.add_subplot(gs[0, i]) for i in range(3))
        self.ax1 = ax1
        epochs = d.rates.shape[1]
        self.rate_lines, self.loss_lines = {}, {}
        for i, name in enumerate(d.names):
            colour = CYCLE[i % len(CYCLE)]
            self.rate_lines[name], = ax1.step(np.arange(epochs), np.ones(epochs), where="post", color=colour,
                                              label=name)
            self.loss_lines[name], = ax2.plot(np.arange(epochs + 1), np.ones(epochs + 1), "o-", ms=2.5,
                                              color=colour)
        ax1.set_yscale("log")
        ax1.set_ylim(1e-3 * min(LR0_CHOICES), 2 * max(LR0_CHOICES))
        ax1.set_xlim(0, epochs)
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("learning rate")
        ax1.legend(fontsize=9, loc="lower left")
        self.title = ax1.set_title(" ", fontsize=9)
        ax2.set_yscale("log")
        ax2.set_ylim(0.01, 3)
        ax2.set_xlim(0, epochs)
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("training cross-entropy")
        ax2.set_title("softmax regression on the digits (SGD, μ = 0.9)", fontsize=9)
        self.board = TextPanel(fig, ax3, size=9)

    def update(self, d: ScheduleData) -> list:
        for i, name in enumerate(d.names):
            mine = name == d.highlight
            for line, y in ((self.rate_lines[name], d.rates[i]), (self.loss_lines[name], d.losses[i])):
                line.set_ydata(np.maximum(y, 1e-12))
                line.set_linewidth(2.5 if mine else 1.0)
                line.set_alpha(1.0 if mine else 0.45)
        self.title.set_text(f"α₀ = {d.lr0:g}" + (f", {d.warmup} warm-up epoch(s)" if d.warmup else ", no warm-up"))
        order = np.argsort(d.losses[:, -1])
        text = "final loss\n" + "\n".join(f"{d.names[i]:<13}{d.losses[i, -1]:.4f}" for i in order)
        text += "\n\nafter epoch 1\n" + "\n".join(f"{d.names[i]:<13}{d.losses[i, 1]:.4f}" for i in order)
        return ([*self.rate_lines.values(), *self.loss_lines.values(), self.title,
                 self.board.set_text(text)])
