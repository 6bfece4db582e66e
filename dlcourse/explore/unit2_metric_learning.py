r"""Metric learning: a 2-D embedding of digits trained with the contrastive or the triplet loss.

A small network (the 16 leading principal components of an 8×8 digit → 16 tanh → 2) maps
each image of the digits 0–4 to a point in the plane. It never sees a class label as a
target: it only learns which pairs are alike (Unit 2, "Ranking and metric learning").

* **Contrastive** (Hadsell, Chopra and LeCun, 2006): pairs of the same digit are pulled
  together, :math:`\tfrac12 d^2`; pairs of different digits are pushed out to the margin,
  :math:`\tfrac12 \max(0, m - d)^2`.
* **Triplet** (FaceNet, Schroff et al., 2015): an anchor must be closer to a positive (same
  digit) than to a negative (another digit) by at least the margin,
  :math:`\max(0, d(a, p) - d(a, n) + m)`.

Both losses are those of :mod:`dlcourse.losses`, model by model (one model per margin, all
trained at once): :func:`~dlcourse.losses.contrastive` of the pair distances, and the
triplet loss as :func:`~dlcourse.losses.margin_ranking` of the two distances
(:math:`\max(0, -(d_n - d_p) + m)`: the negative should rank farther); this module only
computes the distances and carries the losses' gradients back to the embeddings. The networks
(one batch of :class:`~dlcourse.explore.unit2_batched.TanhNets`) train by
:func:`dlcourse.train.train_step`: the target of each step is the sampled batch of pairs and
triplets. The embeddings are not
normalised, so the margin also sets their scale. Each is scored by the accuracy of a
nearest-neighbour classifier in the embedding (a test digit takes the label of the closest
training digit).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .. import losses as L
from .._validate import as_seed
from ..data import load_digits, train_test_split
from ..optim import Adam
from ..plotting import CYCLE, View
from ..train import train_step
from . import unit2_batched as bt

MARGINS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
LOSSES = ("contrastive", "triplet")
CLASSES = 5
STEPS, SNAPSHOT_EVERY, BATCH = 300, 25, 128


@lru_cache(maxsize=1)
def digit_features(n_components: int = 16, rng=0):
    """Digits 0-4 as their leading principal components (scaled to unit variance overall), split 75/25."""
    seed = as_seed(rng, "rng")
    X, y = load_digits(n_class=CLASSES)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    mean = Xtr.mean(axis=0)
    _, _, Vt = np.linalg.svd(Xtr - mean, full_matrices=False)
    project = lambda A: (A - mean) @ Vt[:n_components].T  # noqa: E731
    scale = project(Xtr).std()
    return project(Xtr) / scale, project(Xte) / scale, ytr, yte


def _partner(y, anchors, rng, same: np.ndarray) -> np.ndarray:
    """For each anchor, a random index of the same class (where ``same``) or of another class."""
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y, minlength=CLASSES)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    c = y[anchors]
    u = rng.random(len(anchors))
    inside = starts[c] + np.floor(u * counts[c]).astype(int)
    r = np.floor(u * (len(y) - counts[c])).astype(int)          # a position outside the anchor's class block
    outside = np.where(r < starts[c], r, r + counts[c])
    return order[np.where(same, inside, outside)]


def sample_pairs(y, rng, n: int):
    """``n`` index pairs, the first half of the same class (``similar = 1``), the rest of different classes."""
    i = rng.integers(0, len(y), n)
    similar = np.arange(n) < n // 2
    return i, _partner(y, i, rng, similar), similar.astype(float)


def sample_triplets(y, rng, n: int):
    """``n`` (anchor, positive, negative) index triplets: positive of the anchor's class, negative of another."""
    a = rng.integers(0, len(y), n)
    return a, _partner(y, a, rng, np.ones(n, bool)), _partner(y, a, rng, np.zeros(n, bool))


def _scatter(values, index, n):
    """Sum rows of ``values`` (B, M, D) into (B, n, D) at ``index`` (M,), by one bincount per column."""
    B, M, D = values.shape
    flat = (np.arange(B)[:, None] * n + index[None, :]).ravel()
    cols = [np.bincount(flat, weights=values[..., k].ravel(), minlength=B * n) for k in range(D)]
    return np.stack(cols, axis=-1).reshape(B, n, D)


def contrastive_terms(E, i, j, similar, margins):
    r"""Mean contrastive loss per model and its gradient w.r.t. the embeddings ``E`` (B, N, 2).

    ``margins`` has shape (B,); model ``b`` is scored by :func:`dlcourse.losses.contrastive` of
    its pair distances with margin ``margins[b]``.
    """
    diff = E[:, i] - E[:, j]
    d = np.sqrt(np.sum(diff * diff, axis=-1) + 1e-12)                       # (B, P)
    loss = np.array([L.contrastive(d[b], similar, m) for b, m in enumerate(margins)])
    dl_dd = np.stack([L.contrastive_grad(d[b], similar, m) for b, m in enumerate(margins)])
    g = (dl_dd / d)[..., None] * diff
    return loss, _scatter(g, i, E.shape[1]) - _scatter(g, j, E.shape[1])


def triplet_terms(E, a, p, n, margins):
    r"""Mean triplet loss per model and its gradient w.r.t. the embeddings ``E`` (B, N, 2).

    The triplet loss :math:`\max(0, d(a, p) - d(a, n) + m)` is
    :func:`dlcourse.losses.margin_ranking` of ``x1`` :math:`= d(a, n)` against ``x2`` :math:`= d(a, p)`
    with ``y = 1``, model ``b`` with margin ``margins[b]``; its gradient with respect to ``x2`` is
    minus that with respect to ``x1``. Distances are Euclidean, as in
    :func:`dlcourse.losses.triplet_margin` (without its :math:`10^{-6}` shift of the difference).
    """
    dp, dn = E[:, a] - E[:, p], E[:, a] - E[:, n]
    lp = np.sqrt(np.sum(dp * dp, axis=-1) + 1e-12)
    ln = np.sqrt(np.sum(dn * dn, axis=-1) + 1e-12)
    ones = np.ones(len(a))
    loss = np.array([L.margin_ranking(ln[b], lp[b], ones, m) for b, m in enumerate(margins)])
    dl_dn = np.stack([L.margin_ranking_grad(ln[b], lp[b], ones, m) for b, m in enumerate(margins)])
    up, un = (-dl_dn / lp)[..., None] * dp, (-dl_dn / ln)[..., None] * dn
    N = E.shape[1]
    return loss, _scatter(up - un, a, N) - _scatter(up, p, N) + _scatter(un, n, N)


def nearest_neighbour_accuracy(train_emb, ytr, test_emb, yte) -> np.ndarray:
    """Accuracy of 1-nearest-neighbour in each model's embedding; embeddings (B, N, 2)."""
    # |t - r|² = |t|² - 2 t·r + |r|²; |t|² does not change which r is nearest
    d = np.sum(train_emb ** 2, axis=-1)[:, None, :] - 2.0 * test_emb @ train_emb.transpose(0, 2, 1)
    return np.mean(ytr[np.argmin(d, axis=2)] == yte, axis=1)


class _EmbeddingLosses:
    """The loss pair of :func:`dlcourse.train.train_step` for embeddings (2 · margins, N, 2) and a target
    ``(pairs, triplets)`` of sampled indices: the first models by :func:`contrastive_terms`, the others by
    :func:`triplet_terms`. ``per_model`` keeps each model's loss of the last call."""

    def __init__(self, margins: np.ndarray):
        self.margins = margins
        self._last = None            # (E, batch, per-model losses, gradient) of the last call

    def _terms(self, E, batch):
        if self._last is None or self._last[0] is not E or self._last[1] is not batch:
            nm = len(self.margins)
            (i, j, similar), (a, p, n) = batch
            loss_c, g_c = contrastive_terms(E[:nm], i, j, similar, self.margins)
            loss_t, g_t = triplet_terms(E[nm:], a, p, n, self.margins)
            self._last = (E, batch, np.r_[loss_c, loss_t], np.concatenate([g_c, g_t]))
        return self._last

    @property
    def per_model(self) -> np.ndarray:
        return self._last[2]

    def loss(self, E, batch) -> float:
        return float(self._terms(E, batch)[2].sum())

    def loss_grad(self, E, batch) -> np.ndarray:
        return self._terms(E, batch)[3]


class MetricRuns(NamedTuple):
    snapshots: np.ndarray     # (n_snapshots, losses, margins, N_test, 2) test embeddings
    steps: np.ndarray         # the training step of each snapshot
    losses: np.ndarray        # (n_snapshots, losses, margins) training loss on the last batch
    accuracy: np.ndarray      # (n_snapshots, losses, margins) 1-NN test accuracy
    yte: np.ndarray


@lru_cache(maxsize=1)
def train_embeddings(lr: float = 0.01, hidden: int = 16, rng=0) -> MetricRuns:
    """Train one embedding network per (loss, margin), all in one batch; snapshots every 25 steps."""
    seed = as_seed(rng, "rng")
    Xtr, Xte, ytr, yte = digit_features()
    nm = len(MARGINS)
    margins = np.array(MARGINS)
    nets = bt.TanhNets(2 * nm, Xtr.shape[1], hidden, 2, rng=seed)
    model = nets.as_model()
    opt = Adam(model.parameters(), lr=lr)
    objective = _EmbeddingLosses(margins)
    rng = np.random.default_rng(seed)
    snaps, steps, losses, acc = [], [], [], []
    loss = np.zeros(2 * nm)
    for t in range(STEPS + 1):
        snapshot = t % SNAPSHOT_EVERY == 0
        if snapshot:
            test = nets.forward(Xte)[1]                 # before this step's update
        if t < STEPS:
            batch = (sample_pairs(ytr, rng, BATCH), sample_triplets(ytr, rng, BATCH))
            E = train_step(model, Xtr, batch, (objective.loss, objective.loss_grad), opt).output
        else:
            E = nets.forward(Xtr)[1]
        if snapshot:
            snaps.append(test.reshape(2, nm, *test.shape[1:]))
            steps.append(t)
            losses.append(loss.reshape(2, nm))          # the loss of the last batch before this snapshot
            acc.append(nearest_neighbour_accuracy(E, ytr, test, yte).reshape(2, nm))
        if t < STEPS:
            loss = objective.per_model
    return MetricRuns(np.array(snaps), np.array(steps), np.array(losses), np.array(acc), yte)


class MetricData(NamedTuple):
    margin: float
    step: int
    embeddings: np.ndarray    # (losses, N_test, 2) at this margin and step, divided by the margin
    limits: np.ndarray        # (losses, 2) half-widths that fit every final embedding (in margins)
    accuracy: np.ndarray      # (losses,)
    loss: np.ndarray          # (losses,)
    labels: np.ndarray


def compute_metric_learning(margin: float = 1.0, step: int = STEPS) -> MetricData:
    """The test embeddings at one margin and training step, measured in margins (divided by m)."""
    runs = train_embeddings()
    k = int(np.argmin(np.abs(np.array(MARGINS) - margin)))
    s = int(np.clip(round(step / SNAPSHOT_EVERY), 0, len(runs.steps) - 1))
    scaled = runs.snapshots / np.array(MARGINS)[None, None, :, None, None]
    centre = scaled - scaled.mean(axis=3, keepdims=True)
    limits = 1.1 * np.abs(centre[-1]).max(axis=(1, 2, 3))                   # one box per loss, all margins
    return MetricData(MARGINS[k], int(runs.steps[s]), centre[s, :, k], np.c_[limits, limits],
                      runs.accuracy[s, :, k], runs.losses[s, :, k], runs.yte)


class MetricView(View):
    """The test digits' embeddings under each loss, coloured by digit, in units of the margin."""

    def setup(self, fig, d: MetricData) -> None:
        axes = fig.subplots(1, 2)
        colours = [CYCLE[c] for c in d.labels]
        self.points, self.titles = [], []
        for ax, name, (wx, wy) in zip(axes, LOSSES, d.limits):
            self.points.append(ax.scatter(np.zeros(len(d.labels)), np.zeros(len(d.labels)), s=9, c=colours))
            ax.set_xlim(-wx, wx)
            ax.set_ylim(-wy, wy)
            ax.set_aspect("equal", adjustable="box")
            ax.plot([-0.9 * wx, -0.9 * wx + 1.0], [-0.9 * wy] * 2, color="k", lw=3)
            ax.text(-0.9 * wx, -0.84 * wy, "one margin", fontsize=9)
            ax.set_xlabel("embedding ÷ m (centred)")
            self.titles.append(ax.set_title(" ", fontsize=9))
        keys = [axes[1].scatter([], [], s=12, color=CYCLE[c]) for c in range(CLASSES)]
        fig.legend(keys, [f"digit {c}" for c in range(CLASSES)], fontsize=9, loc="center", bbox_to_anchor=(0.5, 0.5))

    def update(self, d: MetricData) -> list:
        for k, name in enumerate(LOSSES):
            self.points[k].set_offsets(d.embeddings[k])
            self.titles[k].set_text(f"{name}, m = {d.margin:g}, step {d.step}\n"
                                    f"1-NN test accuracy {d.accuracy[k]:.1%}")
        return self.points + self.titles


def describe_metric_learning(d: MetricData) -> str:
    return (f"Margin {d.margin:g}, step {d.step}: nearest-neighbour accuracy {d.accuracy[0]:.1%} (contrastive) and "
            f"{d.accuracy[1]:.1%} (triplet); batch loss {d.loss[0]:.3f} and {d.loss[1]:.3f}.")
