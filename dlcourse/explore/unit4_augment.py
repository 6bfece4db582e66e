r"""Augmentation explorer: transformed digits, and what augmentation does to test accuracy.

The accuracy curves train a 64-64-10 ReLU network (full-batch Adam, 150 steps) on the first
``n`` training digits, with and without four augmented copies of each
(:func:`dlcourse.regularization.augment_batch`), and test it on two test sets: the digits
as given (scikit-learn's digits are centred and size-normalized) and the same digits
*jittered* by a random rotation of up to 10° and a shift of up to one pixel, as if they
had been scanned less carefully. Augmentation helps when it teaches an invariance the
test data need.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_seed
from ..data import load_digits, train_test_split
from ..mlp import make_mlp
from ..optim import Adam
from ..plotting import PALETTE, View, legend_outside, picture
from ..regularization import augment_batch
from ..train import fit
from .session import once, peek, stored
from .threads import single_threaded

SIZES = (25, 50, 100, 200, 400)
N_COPIES = 4
N_SHOWN = 8


@lru_cache(maxsize=1)
def digit_sets(rng=0):
    """``X_train, X_test, X_test_jittered, y_train, y_test`` (75 / 25 split)."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    return Xtr, Xte, augment_batch(Xte, rng=999, degrees=10, shift=1, clip=(0, 1)), ytr, yte


def train_mlp(X, y, steps: int = 150, lr: float = 1e-2, rng=0):
    """A 64-64-10 ReLU network trained by full-batch Adam on softmax cross-entropy."""
    seed = as_seed(rng, "rng")
    model = make_mlp(64, [64], 10, activation="relu", rng=seed)
    fit(model, X, y, optimizer=Adam(model.parameters(), lr=lr), epochs=steps, batch_size=len(X), shuffle=False,
        progress=False)
    return model


class AugmentCurves(NamedTuple):
    settings: tuple            # (degrees, shift, noise, flip) used for training
    sizes: tuple
    plain: np.ndarray          # (len(sizes), 2) accuracy without augmentation: [centred, jittered]
    augmented: np.ndarray      # (len(sizes), 2) with augmentation


def _settings(degrees, shift, noise, flip) -> tuple:
    return (float(degrees), int(shift), float(noise), float(flip))


@single_threaded
def accuracy_curves(degrees: float = 10.0, shift: int = 1, noise: float = 0.0, flip: float = 0.0,
                    progress: Callable[[int, int], None] | None = None) -> AugmentCurves:
    """Test accuracy against training-set size, with and without augmentation (once per setting and session)."""
    key = _settings(degrees, shift, noise, flip)
    return once(("augment curves",) + key, lambda: _train_curves(key, degrees, shift, noise, flip, progress))


def _train_curves(key, degrees, shift, noise, flip, progress) -> AugmentCurves:
    Xtr, Xte, Xjit, ytr, yte = digit_sets()
    plain, augmented = [], []
    for i, n in enumerate(SIZES):
        X, y = Xtr[:n], ytr[:n]
        copies = [augment_batch(X, rng=100 * i + k, degrees=degrees, shift=shift, noise_std=noise,
                                flip_prob=flip, clip=(0, 1)) for k in range(N_COPIES)]
        for store, (Xa, ya) in ((plain, (X, y)), (augmented, (np.vstack([X] + copies), np.tile(y, N_COPIES + 1)))):
            model = train_mlp(Xa, ya)
            store.append([np.mean(model.forward(T).argmax(1) == yte) for T in (Xte, Xjit)])
        if progress is not None:
            progress(i + 1, len(SIZES))
    return AugmentCurves(key, SIZES, np.array(plain), np.array(augmented))


class AugmentData(NamedTuple):
    original: np.ndarray       # (8, 8)
    label: int
    examples: np.ndarray       # (N_SHOWN, 8, 8) augmented copies
    curves: AugmentCurves
    requested: tuple
    pending: bool


def compute_augment(index: int = 0, degrees: float = 10.0, shift: int = 1, noise: float = 0.0,
                    flip: float = 0.0, rng=0) -> AugmentData:
    seed = as_seed(rng, "rng")
    Xtr, _, _, ytr, _ = digit_sets()
    x = Xtr[index % len(Xtr)]
    examples = augment_batch(np.repeat(x[None], N_SHOWN, 0), rng=seed, degrees=degrees, shift=shift,
                             noise_std=noise, flip_prob=flip, clip=(0, 1)).reshape(-1, 8, 8)
    key = _settings(degrees, shift, noise, flip)
    curves = peek(("augment curves",) + key)
    pending = curves is None
    if pending:
        curves = (stored("augment curves") or [accuracy_curves()])[0]
    return AugmentData(x.reshape(8, 8), int(ytr[index % len(Xtr)]), examples, curves, key, pending)


def describe_settings(s: tuple) -> str:
    deg, shift, noise, flip = s
    return f"rotation ±{deg:g}°, shift ±{shift} px, noise σ {noise:g}, flip {flip:.0%}"


def describe_augment(d: AugmentData) -> str:
    c = d.curves
    i = 0
    text = (f"accuracy curves for {describe_settings(c.settings)}. With {c.sizes[i]} training digits: "
            f"{c.plain[i, 0]:.1%} → {c.augmented[i, 0]:.1%} on the centred test digits, "
            f"{c.plain[i, 1]:.1%} → {c.augmented[i, 1]:.1%} on the jittered ones.")
    if d.pending:
        text = f"<b>Press Run to measure the accuracy with {describe_settings(d.requested)}.</b> " + text
    return text


class AugmentView(View):
    """The digit and augmented copies (left), test accuracy against training-set size (right)."""

    def key(self, d: AugmentData):
        return d.curves.settings

    def setup(self, fig, d: AugmentData) -> None:
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.15, top=0.88, wspace=0.15, hspace=0.3)
        gs = fig.add_gridspec(3, 7, width_ratios=[1, 1, 1, 0.3, 1.4, 1.4, 1.4])
        self.images = []
        for k in range(N_SHOWN + 1):
            ax = fig.add_subplot(gs[k // 3, k % 3])
            im = picture(ax.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1))
            ax.set_xticks([])
            ax.set_yticks([])
            self.images.append(im)
            if k == 0:
                self.t0 = ax.set_title(" ", fontsize=9)
        ax = fig.add_subplot(gs[:, 4:])
        c = d.curves
        for j, (ls, test) in enumerate((("-", "centred test digits"), ("--", "jittered test digits"))):
            ax.plot(c.sizes, c.plain[:, j], ls=ls, marker="o", color=PALETTE["blue"], label=f"no augmentation,\n{test}")
            ax.plot(c.sizes, c.augmented[:, j], ls=ls, marker="s", color=PALETTE["orange"],
                    label=f"augmented,\n{test}")
        ax.set_xscale("log")
        ax.set_xticks(c.sizes, [str(s) for s in c.sizes])
        ax.set_xticks([], minor=True)
        ax.set_ylim(0, 1)
        ax.set_xlabel("training digits (before augmentation)")
        ax.set_ylabel("test accuracy")
        legend_outside(ax, "right")
        self.curve_title = ax.set_title(" ", fontsize=9)

    def update(self, d: AugmentData) -> list:
        self.images[0].set_data(d.original)
        for im, ex in zip(self.images[1:], d.examples):
            im.set_data(ex)
        self.t0.set_text(f"original ({d.label})")
        self.curve_title.set_text(("old curves, press Run — " if d.pending else "")
                                  + describe_settings(d.curves.settings))
        return [*self.images, self.t0, self.curve_title]
