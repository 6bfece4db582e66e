r"""Pretraining lab: greedy layer-wise autoencoder pretraining against random initialization.

The unlabelled data are all 1,347 training digits; only the first ``n`` of them (in a
fixed random order) keep their labels. For each ``n`` the same sigmoid network is
fine-tuned on those ``n`` labelled digits twice: once starting from encoders trained
greedily, one autoencoder per layer (:func:`dlcourse.regularization.greedy_pretrain`),
once from random weights. The test accuracy is measured on the 450 held-out digits.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_seed
from ..data import load_digits, train_test_split
from ..layers import Linear
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside
from ..regularization import build_classifier, fine_tune, greedy_pretrain, predict_classes
from .session import once, peek, stored
from .threads import single_threaded

SIZES = (20, 50, 100, 200, 500)
ARCHITECTURES = {"64-32 (2 hidden layers)": (64, 32), "64-32-16 (3 hidden layers)": (64, 32, 16)}
N_FILTERS = 16


@lru_cache(maxsize=1)
def digits_for_pretraining(rng=0):
    """``X_train, X_test, y_train, y_test`` with the training digits in a fixed random order."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    order = np.random.default_rng(seed + 1).permutation(len(Xtr))
    return Xtr[order], Xte, ytr[order], yte


class PretrainCurves(NamedTuple):
    hidden: tuple
    sizes: tuple
    pretrained: np.ndarray        # test accuracy for each size
    random: np.ndarray
    pretrain_losses: list         # reconstruction MSE per epoch, one list per layer
    filters_pretrained: np.ndarray  # (N_FILTERS, 8, 8) first-layer weights after pretraining
    filters_random: np.ndarray      # (N_FILTERS, 8, 8) the random initial ones


def _random_encoders(hidden, rng):
    seed = as_seed(rng, "rng")
    dims = (64,) + tuple(hidden)
    rng = np.random.default_rng(seed)
    return [Linear(a, b, rng=rng) for a, b in zip(dims, dims[1:])]


def _finetuned_accuracy(encoders, n, rng) -> float:
    seed = as_seed(rng, "rng")
    Xtr, Xte, ytr, yte = digits_for_pretraining()
    model = build_classifier(copy.deepcopy(encoders), 10, "sigmoid", rng=seed)
    fine_tune(model, Xtr[:n], ytr[:n], epochs=max(20, 3000 // n), lr=1e-2, batch_size=32, rng=seed)
    return float(np.mean(predict_classes(model, Xte) == yte))


@single_threaded
def pretrain_curves(hidden=(64, 32, 16), rng=0,
                    progress: Callable[[int, int], None] | None = None) -> PretrainCurves:
    """Pretrain once on every training digit, then fine-tune both starts for every size (once per session)."""
    seed = as_seed(rng, "rng")
    hidden = tuple(hidden)
    return once(("pretrain curves", hidden, seed), lambda: _train_curves(hidden, seed, progress))


def _train_curves(hidden: tuple, seed: int, progress) -> PretrainCurves:
    Xtr = digits_for_pretraining()[0]
    encoders, losses = greedy_pretrain(Xtr, list(hidden), "sigmoid", epochs=10, lr=1e-2, batch_size=32, rng=seed)
    random_init = _random_encoders(hidden, seed)
    pre, rand = [], []
    for i, n in enumerate(SIZES):
        pre.append(_finetuned_accuracy(encoders, n, seed))
        rand.append(_finetuned_accuracy(random_init, n, seed))
        if progress is not None:
            progress(i + 1, len(SIZES))
    filters = [enc.weight[:N_FILTERS].reshape(-1, 8, 8) for enc in (encoders[0], random_init[0])]
    return PretrainCurves(hidden, SIZES, np.array(pre), np.array(rand), losses, *filters)


class PretrainData(NamedTuple):
    curves: PretrainCurves
    index: int
    requested: tuple
    pending: bool


def compute_pretrain(architecture: str = "64-32-16 (3 hidden layers)", n_labels: int = 100) -> PretrainData:
    hidden = ARCHITECTURES[architecture]
    curves = peek(("pretrain curves", hidden, 0))
    pending = curves is None
    if pending:
        curves = (stored("pretrain curves") or [pretrain_curves(hidden)])[0]
    return PretrainData(curves, SIZES.index(n_labels), hidden, pending)


def describe_pretrain(d: PretrainData) -> str:
    c, i = d.curves, d.index
    arch = "-".join(map(str, c.hidden))
    text = (f"{arch} sigmoid network, {c.sizes[i]} labelled digits: test accuracy {c.pretrained[i]:.1%} after "
            f"greedy pretraining, {c.random[i]:.1%} from random weights "
            f"({100 * (c.pretrained[i] - c.random[i]):+.1f} points).")
    if d.pending:
        text = f"<b>Press Run to pretrain and fine-tune the {'-'.join(map(str, d.requested))} network.</b> " + text
    return text


def mosaic(filters: np.ndarray, cols: int = 4) -> np.ndarray:
    """Tile (k, 8, 8) images into one array with a one-pixel gap, each scaled to [-1, 1]."""
    k = len(filters)
    rows = -(-k // cols)
    out = np.full((rows * 9 - 1, cols * 9 - 1), np.nan)
    for j, f in enumerate(filters):
        r, c = divmod(j, cols)
        out[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = f / (np.abs(f).max() or 1.0)
    return out


class PretrainView(View):
    """Accuracy against labelled examples (left); first-layer filters, pretrained and random (right)."""

    def key(self, d: PretrainData):
        return d.curves.hidden

    def setup(self, fig, d: PretrainData) -> None:
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.17, top=0.8, wspace=0.15)
        c = d.curves
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.6, 1, 1])
        ax1.plot(c.sizes, c.pretrained, marker="o", color=PALETTE["green"], label="greedy pretraining + fine-tuning")
        ax1.plot(c.sizes, c.random, marker="s", color=PALETTE["blue"], label="random initialization")
        ax1.set_xscale("log")
        ax1.set_xticks(c.sizes, [str(s) for s in c.sizes])
        ax1.set_xticks([], minor=True)
        ax1.set_ylim(0, 1)
        ax1.set_xlabel("labelled training digits")
        ax1.set_ylabel("test accuracy")
        legend_outside(ax1, "below", ncol=1)
        ax1.set_title(f"{'-'.join(map(str, c.hidden))} sigmoid network", fontsize=9)
        self.marker = ax1.axvline(c.sizes[0], color="k", lw=1)
        for ax, filters, title in ((ax2, c.filters_pretrained, "first-layer weights\nafter pretraining"),
                                   (ax3, c.filters_random, "first-layer weights\nrandom initialization")):
            image = ax.imshow(mosaic(filters), cmap=DIVERGING, vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=9)
        colorbar([ax2, ax3], image, label="weight ÷ largest |weight|", shrink=0.8)
        self.title = fig.suptitle(" ", fontsize=9, y=0.99)

    def update(self, d: PretrainData) -> list:
        c, i = d.curves, d.index
        self.marker.set_xdata([c.sizes[i]] * 2)
        self.title.set_text(f"{c.sizes[i]} labels: {c.pretrained[i]:.1%} pretrained vs {c.random[i]:.1%} random"
                            + ("  —  press Run for the other network" if d.pending else ""))
        return [self.marker, self.title]
