r"""Label-noise lab: the same small network trained on noisy labels under four losses.

A fraction :math:`r` of the 200 training labels of the two-moons set is flipped (the same
points stay flipped as :math:`r` grows, so the levels are nested). A 2-12-2 tanh network is
trained on them with each loss below, and scored on 2000 *clean* test points (Unit 2,
"Label noise and robust losses"). With :math:`p = \operatorname{softmax}(z)`,
:math:`y` one-hot and :math:`p_y` the probability of the (noisy) label, each loss per sample and its
gradient with respect to the logits :math:`z`:

* cross-entropy, :math:`-\log p_y`; gradient :math:`p - y`;
* label smoothing, :math:`-\sum_k \tilde y_k \log p_k` with
  :math:`\tilde y = (1-\varepsilon) y + \varepsilon/C`; gradient :math:`p - \tilde y`;
* MAE, :math:`\sum_k |p_k - y_k| = 2(1 - p_y)`; gradient :math:`-2\,p_y\,(y - p)`;
* symmetric CE, :math:`\alpha\,\mathrm{CE} - \beta A (1 - p_y)`; gradient
  :math:`\alpha (p - y) + \beta A\, p_y (y - p)`.

Cross-entropy's gradient does not shrink for a sample the model finds unlikely, so a flipped
label keeps pulling until it is memorised; MAE's gradient carries the factor :math:`p_y`, so
samples that disagree strongly with the model (often the mislabelled ones) pull little.
Symmetric CE (:math:`\alpha = 0.1, \beta = 1, A = -4`, the reverse cross-entropy with
:math:`\log 0` taken as :math:`A`) mixes the two.

Every (noise level, loss) pair is trained at once in one batch of networks
(:class:`~dlcourse.explore.unit2_batched.TanhNets`), by :func:`dlcourse.train.train_step` with a
loss pair that scores model :math:`b` by loss :math:`b \bmod 4`, the first time the lab is used,
and cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from .. import losses as L
from .._validate import as_seed
from ..activations import softmax
from ..data import make_moons
from ..optim import Adam
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside
from ..train import train_step
from . import unit2_batched as bt

NOISE_LEVELS = tuple(round(0.05 * k, 2) for k in range(9))     # 0, 0.05, ..., 0.4
SMOOTHING = 0.3
SCE_ALPHA, SCE_BETA, SCE_A = 0.1, 1.0, -4.0
GRID = 60
BOX = (-2.0, 2.0, -1.5, 1.5)


class RobustLoss(NamedTuple):
    value: Callable          # (p, y) -> per-sample loss, shape (..., N)
    grad: Callable           # (p, y) -> d(per-sample loss)/dz, shape (..., N, C)


def _p_true(p, y):
    return np.sum(p * y, axis=-1, keepdims=True)


def _smooth(y):
    return (1.0 - SMOOTHING) * y + SMOOTHING / y.shape[-1]


def _cross_entropy(p, y):
    """Per-sample :func:`dlcourse.losses.categorical_cross_entropy` of ``p`` against ``y``, shape (..., N)."""
    rows = L.categorical_cross_entropy(p.reshape(-1, p.shape[-1]), y.reshape(-1, y.shape[-1]), reduction="none")
    return rows.reshape(p.shape[:-1])


ROBUST_LOSSES = {
    "cross-entropy": RobustLoss(_cross_entropy, lambda p, y: p - y),
    "label smoothing": RobustLoss(lambda p, y: _cross_entropy(p, _smooth(y)), lambda p, y: p - _smooth(y)),
    "MAE": RobustLoss(lambda p, y: np.sum(np.abs(p - y), axis=-1), lambda p, y: -2.0 * _p_true(p, y) * (y - p)),
    "symmetric CE": RobustLoss(
        lambda p, y: SCE_ALPHA * _cross_entropy(p, y) - SCE_BETA * SCE_A * (1.0 - _p_true(p, y))[..., 0],
        lambda p, y: SCE_ALPHA * (p - y) + SCE_BETA * SCE_A * _p_true(p, y) * (y - p)),
}
"""Each loss of the lab as a function of the probabilities ``p`` and one-hot labels ``y``."""

LOSS_NAMES = tuple(ROBUST_LOSSES)


@lru_cache(maxsize=1)
def noisy_data(n_train: int = 200, n_test: int = 2000, rng=1):
    """Training points, their clean labels, the order in which labels get flipped, and a clean test set."""
    seed = as_seed(rng, "rng")
    train, test = make_moons(n_train, noise=0.2, rng=seed), make_moons(n_test, noise=0.2, rng=seed + 1)
    order = np.random.default_rng(seed + 2).permutation(n_train)
    return train.X, train.y, order, test.X, test.y


def noisy_labels(noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The training labels with the first ``noise · N`` points of the fixed order flipped, and that mask."""
    _, y, order, _, _ = noisy_data()
    flipped = np.zeros(len(y), bool)
    flipped[order[:int(round(noise * len(y)))]] = True
    return np.where(flipped, 1 - y, y), flipped


class NoiseRuns(NamedTuple):
    test_accuracy: np.ndarray      # (levels, losses) on the clean test set
    memorised: np.ndarray          # (levels, losses) share of flipped points predicted as their wrong label
    grid_prob: np.ndarray          # (levels, losses, GRID, GRID) P(class 1) over the plotting box


def _batch_losses(n_samples: int) -> tuple:
    """The loss pair of :func:`dlcourse.train.train_step` for logits (levels · losses, N, 2) and one-hot labels:
    model ``b`` is scored by loss ``b % len(LOSS_NAMES)`` of :data:`ROBUST_LOSSES` (the sum of the models' means)."""
    n_losses = len(LOSS_NAMES)

    def loss(z, onehot):
        p = softmax(z)
        return float(sum(np.mean(ROBUST_LOSSES[name].value(p[k::n_losses], onehot[k::n_losses]), axis=-1).sum()
                         for k, name in enumerate(LOSS_NAMES)))

    def loss_grad(z, onehot):
        p = softmax(z)
        grad = np.empty_like(onehot)
        for k, name in enumerate(LOSS_NAMES):
            grad[k::n_losses] = ROBUST_LOSSES[name].grad(p[k::n_losses], onehot[k::n_losses])
        return grad / n_samples
    return loss, loss_grad


@lru_cache(maxsize=1)
def train_all(steps: int = 500, lr: float = 0.04, hidden: int = 12, rng=0) -> NoiseRuns:
    """Train one network per (noise level, loss), all in one batch (500 full-batch Adam steps; about a second)."""
    seed = as_seed(rng, "rng")
    X, _, _, Xt, yt = noisy_data()
    labels = np.array([noisy_labels(r)[0] for r in NOISE_LEVELS])                 # (levels, N)
    n_levels, n_losses = len(NOISE_LEVELS), len(LOSS_NAMES)
    onehot = np.repeat(np.eye(2)[labels], n_losses, axis=0)                       # (levels * losses, N, 2)
    nets = bt.TanhNets(n_levels * n_losses, 2, hidden, 2, rng=seed)
    model = nets.as_model()
    opt = Adam(model.parameters(), lr=lr)
    loss = _batch_losses(len(X))
    for _ in range(steps):
        train_step(model, X, onehot, loss, opt)
    shape = (n_levels, n_losses)
    test_acc = (nets.forward(Xt)[1].argmax(-1) == yt).mean(-1).reshape(shape)
    train_pred = nets.forward(X)[1].argmax(-1).reshape(shape + (len(X),))
    memorised = np.zeros(shape)
    for i, r in enumerate(NOISE_LEVELS):
        noisy, flipped = noisy_labels(r)
        if flipped.any():
            memorised[i] = (train_pred[i][:, flipped] == noisy[flipped]).mean(-1)
    gx, gy = np.meshgrid(np.linspace(*BOX[:2], GRID), np.linspace(*BOX[2:], GRID))
    grid_prob = softmax(nets.forward(np.c_[gx.ravel(), gy.ravel()])[1])[..., 1]
    return NoiseRuns(test_acc, memorised, grid_prob.reshape(shape + (GRID, GRID)))


class NoiseData(NamedTuple):
    noise: float
    loss: str
    X: np.ndarray
    labels: np.ndarray        # the noisy training labels
    flipped: np.ndarray       # which labels were flipped
    prob: np.ndarray          # (GRID, GRID) P(class 1) of the chosen model
    runs: NoiseRuns


def nearest_level(noise: float) -> int:
    return int(np.argmin(np.abs(np.array(NOISE_LEVELS) - noise)))


def compute_label_noise(noise: float = 0.2, loss: str = "cross-entropy") -> NoiseData:
    if loss not in ROBUST_LOSSES:
        raise ValueError(f"loss must be one of {list(ROBUST_LOSSES)}, got {loss!r}")
    i = nearest_level(noise)
    runs = train_all()
    labels, flipped = noisy_labels(NOISE_LEVELS[i])
    return NoiseData(NOISE_LEVELS[i], loss, noisy_data()[0], labels, flipped,
                     runs.grid_prob[i, LOSS_NAMES.index(loss)], runs)


COLOURS = {"cross-entropy": PALETTE["blue"], "label smoothing": PALETTE["orange"], "MAE": PALETTE["green"],
           "symmetric CE": PALETTE["purple"]}


class NoiseView(View):
    """Left: the chosen model's decision map over the noisy training set; right: clean test accuracy."""

    def setup(self, fig, d: NoiseData) -> None:
        self.ax1, self.ax2 = fig.subplots(1, 2, width_ratios=[1.15, 1])
        ax1, ax2 = self.ax1, self.ax2
        self.image = ax1.imshow(d.prob, origin="lower", extent=BOX, cmap=DIVERGING, vmin=0, vmax=1, alpha=0.7,
                                aspect="auto")
        self.points = [ax1.scatter([], [], s=12, c=c, marker=m, edgecolors="k", linewidths=0.3, label=f"label {k}")
                       for k, (c, m) in enumerate(((PALETTE["orange"], "o"), (PALETTE["purple"], "s")))]
        self.flips = ax1.scatter([], [], s=40, marker="x", color=PALETTE["black"], linewidths=1, label="flipped")
        ax1.set_xlim(*BOX[:2])
        ax1.set_ylim(*BOX[2:])
        colorbar(ax1, self.image, label="P(label 1)")
        legend_outside(ax1, "below", ncol=3)
        self.title1 = ax1.set_title(" ", fontsize=9)
        levels = np.array(NOISE_LEVELS)
        for k, name in enumerate(LOSS_NAMES):
            ax2.plot(levels, d.runs.test_accuracy[:, k], "o-", ms=3, color=COLOURS[name], label=name)
        ax2.set_xlabel("share of training labels flipped")
        ax2.set_ylabel("accuracy on clean test data")
        ax2.set_ylim(0.5, 1.0)
        ax2.legend(fontsize=9, loc="lower left")
        ax2.set_title("which loss resists the noise?", fontsize=9)
        self.marker = ax2.axvline(d.noise, color=PALETTE["black"], ls=":", lw=1)
        self.dot, = ax2.plot([], [], "o", ms=9, mfc="none", mec=PALETTE["black"])

    def update(self, d: NoiseData) -> list:
        self.image.set_data(d.prob)
        for k, s in enumerate(self.points):
            s.set_offsets(d.X[d.labels == k])
        self.flips.set_offsets(d.X[d.flipped] if d.flipped.any() else np.empty((0, 2)))
        i, k = nearest_level(d.noise), LOSS_NAMES.index(d.loss)
        self.marker.set_xdata([d.noise, d.noise])
        self.dot.set_data([d.noise], [d.runs.test_accuracy[i, k]])
        self.title1.set_text(f"{d.loss}, {d.noise:.0%} flipped: test accuracy {d.runs.test_accuracy[i, k]:.1%}")
        return [self.image, *self.points, self.flips, self.marker, self.dot, self.title1]


def describe_label_noise(d: NoiseData) -> str:
    i, k = nearest_level(d.noise), LOSS_NAMES.index(d.loss)
    if not d.flipped.any():
        return (f"No label flipped: every loss sees the clean data ({d.loss}: test accuracy "
                f"{d.runs.test_accuracy[i, k]:.1%}).")
    return (f"{int(d.flipped.sum())} of {len(d.labels)} labels flipped. Under <b>{d.loss}</b> the network agrees with "
            f"{d.runs.memorised[i, k]:.0%} of the wrong labels (it has memorised them) and scores "
            f"{d.runs.test_accuracy[i, k]:.1%} on clean test data.")
