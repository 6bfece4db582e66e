r"""Class-imbalance lab: logistic regression on a rare class, with and without class weights.

The majority class (label 0, 1000 training points) and the minority class (label 1,
``1000 / ratio`` points) are two overlapping Gaussian clouds. Logistic regression is fitted
exactly by Newton's method on the (optionally weighted) cross-entropy

.. math:: J(\theta) = \frac{\sum_i w_{y_i}\, \ell_i(\theta)}{\sum_i w_{y_i}},
          \qquad w_c = \frac{N}{2 N_c} \text{ ("balanced")},

which is ``F.cross_entropy(logits, y, weight=w)`` on the two logits ``[0, θᵀx]``. A test set
with the same imbalance scores it: confusion matrix, accuracy, and precision, recall and F1
of the minority class (Unit 2, "Class imbalance" and "Metrics beside losses").
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from .. import metrics as M
from ..activations import sigmoid
from ..plotting import PALETTE, View, colorbar, legend_outside

MAJORITY_MEAN, MINORITY_MEAN = np.array([-0.8, 0.0]), np.array([1.0, 0.8])
MAJORITY_STD, MINORITY_STD = 1.0, 0.8
N_MAJORITY, N_MAJORITY_TEST = 1000, 5000
BOX = (-4.0, 4.0, -3.5, 4.0)


@lru_cache(maxsize=1)
def pools(rng=0) -> dict:
    """Every point the lab may use, drawn once: the ratio only decides how many minority points to take."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    draw = lambda mean, std, n: mean + std * rng.standard_normal((n, 2))  # noqa: E731
    return {"train0": draw(MAJORITY_MEAN, MAJORITY_STD, N_MAJORITY), "train1": draw(MINORITY_MEAN, MINORITY_STD, 1000),
            "test0": draw(MAJORITY_MEAN, MAJORITY_STD, N_MAJORITY_TEST),
            "test1": draw(MINORITY_MEAN, MINORITY_STD, N_MAJORITY_TEST)}


def make_split(ratio: float, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """``X, y`` with ``ratio`` majority points for each minority point (at least 5 of the rare class)."""
    if ratio < 1:
        raise ValueError(f"ratio must be >= 1 (majority : minority), got {ratio}")
    P = pools()
    n1 = max(5, int(round(len(P[part + "0"]) / ratio)))
    X = np.vstack([P[part + "0"], P[part + "1"][:n1]])
    return X, np.r_[np.zeros(len(P[part + "0"]), int), np.ones(n1, int)]


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """``N / (C · N_c)`` for each class c, scikit-learn's ``class_weight="balanced"``."""
    counts = np.bincount(y, minlength=2).astype(np.float64)
    return len(y) / (len(counts) * counts)


def fit_logistic(X, y, class_weight=None, l2: float = 1e-4, iterations: int = 50) -> np.ndarray:
    """``[b, w1, w2]`` minimising the (weighted) mean cross-entropy plus ``l2/2 · |w|²``, by Newton's method."""
    A = np.c_[np.ones(len(X)), X]
    sw = np.ones(len(y)) if class_weight is None else np.asarray(class_weight, dtype=np.float64)[y]
    sw = sw / sw.sum()
    reg = l2 * np.diag([0.0, 1.0, 1.0])
    theta = np.zeros(3)
    for _ in range(iterations):
        p = sigmoid(A @ theta)
        grad = A.T @ (sw * (p - y)) + reg @ theta
        hess = (A * (sw * p * (1.0 - p))[:, None]).T @ A + reg
        step = np.linalg.solve(hess, grad)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta


class ImbalanceData(NamedTuple):
    ratio: int
    weighted: bool
    threshold: float
    X: np.ndarray                 # training points
    y: np.ndarray
    weights: np.ndarray           # the class weights used (ones when unweighted)
    theta: np.ndarray             # [b, w1, w2] of the model shown
    theta_other: np.ndarray       # the same fit with the weighting switched
    confusion: np.ndarray         # (2, 2) on the test set at the threshold
    scores: dict                  # accuracy, precision, recall, F1 (minority class positive)


@lru_cache(maxsize=256)
def _fits(ratio: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_split(ratio)
    return fit_logistic(X, y), fit_logistic(X, y, balanced_weights(y))


def compute_imbalance(ratio: int = 10, weighted: bool = False, threshold: float = 0.5) -> ImbalanceData:
    X, y = make_split(ratio)
    plain, balanced = _fits(int(ratio))
    theta, other = (balanced, plain) if weighted else (plain, balanced)
    Xt, yt = make_split(ratio, "test")
    pred = (sigmoid(np.c_[np.ones(len(Xt)), Xt] @ theta) >= threshold).astype(int)
    scores = {"accuracy": M.accuracy(yt, pred), "precision": M.precision(yt, pred),
              "recall": M.recall(yt, pred), "F1": M.f1(yt, pred)}
    weights = balanced_weights(y) if weighted else np.ones(2)
    return ImbalanceData(int(ratio), bool(weighted), float(threshold), X, y, weights, theta, other,
                         M.confusion_matrix(yt, pred, num_classes=2), scores)


def _boundary(theta, threshold):
    """Two points of the line where σ(b + w·x) = threshold, across the plotting box."""
    b, w1, w2 = theta
    logit = np.log(threshold / (1.0 - threshold))
    xs = np.array(BOX[:2])
    if abs(w2) < 1e-12:
        return np.full(2, (logit - b) / w1), np.array(BOX[2:])
    return xs, (logit - b - w1 * xs) / w2


class ImbalanceView(View):
    """Training data with both boundaries, the test confusion matrix, and the four scores."""

    def setup(self, fig, d: ImbalanceData) -> None:
        self.ax1, self.ax2, self.ax3 = fig.subplots(1, 3, width_ratios=[1.2, 0.9, 1])
        ax1, ax2, ax3 = self.ax1, self.ax2, self.ax3
        X0 = pools()["train0"]
        ax1.scatter(X0[:, 0], X0[:, 1], s=4, color=PALETTE["sky"], alpha=0.5, label="majority (0)")
        self.minority = ax1.scatter([], [], s=9, color=PALETTE["vermillion"], label="minority (1)")
        self.line, = ax1.plot([], [], color=PALETTE["black"], lw=2, label="this model")
        self.other, = ax1.plot([], [], color=PALETTE["black"], lw=1, ls="--", label="weights switched")
        ax1.set_xlim(*BOX[:2])
        ax1.set_ylim(*BOX[2:])
        legend_outside(ax1, "below", ncol=2)
        self.title1 = ax1.set_title(" ", fontsize=9)
        self.image = ax2.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=1)
        colorbar(ax2, self.image, label="share of the row", shrink=0.8)
        ax2.set_xticks([0, 1], ["pred 0", "pred 1"])
        ax2.set_yticks([0, 1], ["true 0", "true 1"])
        self.cells = [[ax2.text(j, i, "", ha="center", va="center", fontsize=9) for j in range(2)] for i in range(2)]
        ax2.set_title("test confusion matrix\n(shade: share of the row)", fontsize=9)
        names = ["accuracy", "precision", "recall", "F1"]
        colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["purple"]]
        self.bars = ax3.bar(np.arange(4), np.zeros(4), color=colours)
        ax3.set_xticks(np.arange(4), names, fontsize=9)
        ax3.set_ylim(0, 1.1)
        self.values = [ax3.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in range(4)]
        ax3.set_title("test scores (positive = minority)", fontsize=9)

    def update(self, d: ImbalanceData) -> list:
        self.minority.set_offsets(d.X[d.y == 1])
        self.line.set_data(*_boundary(d.theta, d.threshold))
        self.other.set_data(*_boundary(d.theta_other, d.threshold))
        w = f"weights {d.weights[0]:.2f} : {d.weights[1]:.2f}" if d.weighted else "no class weights"
        self.title1.set_text(f"{d.ratio} : 1, {w}, threshold {d.threshold:.2f}")
        rows = d.confusion / np.maximum(d.confusion.sum(axis=1, keepdims=True), 1)
        self.image.set_data(rows)
        for i in range(2):
            for j in range(2):
                self.cells[i][j].set_text(f"{d.confusion[i, j]}\n({rows[i, j]:.0%})")
                self.cells[i][j].set_color("white" if rows[i, j] > 0.6 else "black")
        for i, (bar, text, v) in enumerate(zip(self.bars, self.values, d.scores.values())):
            bar.set_height(v)
            text.set_position((i, v + 0.02))
            text.set_text(f"{v:.2f}")
        return [self.minority, self.line, self.other, self.title1, self.image,
                *[c for row in self.cells for c in row], *self.bars, *self.values]


def describe_imbalance(d: ImbalanceData) -> str:
    s = d.scores
    return (f"Accuracy {s['accuracy']:.3f}, but the minority class has recall {s['recall']:.3f} "
            f"(found {d.confusion[1, 1]} of {d.confusion[1].sum()}) and precision {s['precision']:.3f}; "
            f"F1 {s['F1']:.3f}.")
