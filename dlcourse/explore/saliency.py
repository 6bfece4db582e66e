r"""Backpropagated saliency on the digits: :math:`\partial o_m / \partial x_i` as a heat map.

``model.zero_grad()`` here clears the gradients of a backward pass used as a measurement (the saliency map, an
input gradient); nothing is updated, so it is not a training loop and does not go through
:func:`dlcourse.train.train_step`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..activations import softmax
from ..data import load_digits, train_test_split
from ..layers import Sequential
from ..mlp import Trainer, make_mlp
from ..plotting import DIVERGING, View, colorbar, colour_name, picture


@lru_cache(maxsize=1)
def trained_digits_mlp(steps: int = 300, rng=0):
    """An MLP 64-32-10 (ReLU) trained on 75 % of the digits; returns ``(model, X_test, y_test, accuracy)``."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    model = make_mlp(64, [32], 10, activation="relu", rng=seed)
    trainer = Trainer(model, Xtr, ytr, lr=0.5, batch_size=256, rng=seed)
    trainer.train(steps)
    return model, Xte, yte, trainer.accuracy(Xte, yte)


def saliency(model: Sequential, x, output: int) -> np.ndarray:
    r"""Gradient of the logit ``output`` with respect to the input ``x`` (one sample, shape (D,)).

    One forward pass, then a backward pass seeded with the one-hot vector of ``output``:
    :math:`\partial o_m/\partial x = W_1^\top (\ldots (W_L^\top e_m))` with the activations' derivatives
    in between. Parameter gradients are reset afterwards.
    """
    x = np.asarray(x, dtype=np.float64)
    logits = model.forward(x[None, :])
    seed = np.zeros_like(logits)
    if not 0 <= output < logits.shape[1]:
        raise ValueError(f"output must be a class index in [0, {logits.shape[1]}), got {output}")
    seed[0, output] = 1.0
    grad = model.backward(seed)[0]
    model.zero_grad()
    return grad


class SaliencyData(NamedTuple):
    image: np.ndarray
    label: int
    probs: np.ndarray
    output: int
    saliency: np.ndarray


def compute_saliency(index: int = 0, output: int | None = None) -> SaliencyData:
    """Saliency of test digit ``index`` for class ``output`` (default: the predicted class)."""
    model, Xte, yte, _ = trained_digits_mlp()
    x = Xte[index % len(Xte)]
    probs = softmax(model.forward(x[None, :]))[0]
    m = int(np.argmax(probs)) if output is None or output < 0 else int(output)
    return SaliencyData(x.reshape(8, 8), int(yte[index % len(Xte)]), probs, m, saliency(model, x, m).reshape(8, 8))


class SaliencyView(View):
    """The digit, its saliency map, and the predicted probabilities."""

    def setup(self, fig, d: SaliencyData) -> None:
        fig.subplots_adjust(wspace=0.5)   # room for the colour bar's labels
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1, 1.3])
        self.img = picture(ax1.imshow(d.image, cmap="gray_r", vmin=0, vmax=1))
        # shown relative to its largest magnitude (given in the title), so the colour bar stays put
        self.sal = ax2.imshow(d.saliency, cmap=DIVERGING, vmin=-1, vmax=1)
        colorbar(ax2, self.sal).set_ticks([-1, 0, 1], labels=["−max", "0", "+max"])
        self.raises = colour_name(self.sal.cmap(0.9))
        for ax in (ax1, ax2):
            ax.set_xticks([])
            ax.set_yticks([])
        self.t1 = ax1.set_title(" ", fontsize=9)
        self.t2 = ax2.set_title(" ", fontsize=9)
        self.bars = ax3.bar(range(10), np.zeros(10), color="#bbbbbb")
        ax3.set_xticks(range(10))
        ax3.set_ylim(0, 1)
        ax3.set_title("predicted probabilities", fontsize=9)

    def update(self, d: SaliencyData) -> list:
        self.img.set_data(d.image)
        lim = float(np.abs(d.saliency).max()) or 1.0
        self.sal.set_data(d.saliency / lim)
        self.t1.set_text(f"digit (true label {d.label})")
        self.t2.set_text(f"$\\partial o_{{{d.output}}}/\\partial x$, max {lim:.2f}\n{self.raises} raises $o_{{{d.output}}}$")
        for i, bar in enumerate(self.bars):
            bar.set_height(d.probs[i])
            bar.set_color("#0072B2" if i == d.output else "#bbbbbb")
        return [self.img, self.sal, self.t1, self.t2, *self.bars]
