r"""Ensemble lab: bagging, boosting and stacking on noisy moons, with bias and variance measured.

Every number comes from ``N_SETS`` independent training sets of 200 noisy moons
(noise 0.3) and one test set of 1,000 points from the same distribution. For each
method and ensemble size we keep the predictions of the ensemble trained on each set
and measure, with :func:`dlcourse.regularization.zero_one_bias_variance`, the test error,
the bias (is the most frequent prediction wrong?) and the variance (how often does one
training set's ensemble disagree with it?).

* bagging — fully grown decision trees on bootstrap samples, majority vote
  (:func:`~dlcourse.regularization.bagging_fit`; the trees are scikit-learn's, which
  fit the same kind of tree (CART, Gini) about 20 times faster than
  :class:`~dlcourse.regularization.DecisionTree`);
* boosting — AdaBoost on decision stumps (:func:`~dlcourse.regularization.adaboost_fit`);
* stacking — a deep tree, logistic regression and 15-nearest neighbours, combined by
  a logistic-regression meta-model on out-of-fold predictions
  (:func:`~dlcourse.regularization.stacking_fit`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..data import make_moons
from ..plotting import DIVERGING, PALETTE, View, colorbar, legend_outside
from ..regularization import (LogisticRegression, adaboost_fit, bagging_fit, majority_vote, stacking_fit,
                              zero_one_bias_variance)
from .threads import single_threaded

METHODS = ("bagging", "boosting", "stacking")
N_SETS = 8
MAX_MODELS = 30
GRID = 60
BOX = ((-1.8, 2.8), (-1.4, 1.9))


def deep_tree(X, y):
    """A fully grown CART tree (scikit-learn's, the fast twin of DecisionTree(max_depth=None))."""
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=0).fit(X, y)


def logistic(X, y):
    return LogisticRegression(alpha=1e-3, lr=1.0, max_iter=150).fit(X, y)


def knn15(X, y):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=15).fit(X, y)


SHORT = {"deep tree": "tree", "logistic regression": "logistic", "15-nearest neighbours": "15-NN",
         "majority vote": "vote", "stacked (meta-model)": "stacked"}
BASE_LEARNERS = {"deep tree": deep_tree, "logistic regression": logistic, "15-nearest neighbours": knn15}


@lru_cache(maxsize=1)
def moons_sets(n_sets: int = N_SETS, rng=0):
    """``n_sets`` training sets of 200 noisy moons, a test set of 1,000 and the grid for the pictures."""
    seed = as_seed(rng, "rng")
    train = [make_moons(200, noise=0.3, rng=seed + i) for i in range(n_sets)]
    test = make_moons(1000, noise=0.3, rng=seed + 1000)
    g0, g1 = np.linspace(*BOX[0], GRID), np.linspace(*BOX[1], GRID)
    xx, yy = np.meshgrid(g0, g1)
    return train, test, (xx, yy, np.c_[xx.ravel(), yy.ravel()])


def _votes_by_size(models, X, n_max) -> np.ndarray:
    """Majority vote of the first N models for N = 1..n_max: shape (n_max, len(X))."""
    P = np.stack([m.predict(X) for m in models[:n_max]])
    running = np.cumsum(P, axis=0) / np.arange(1, len(P) + 1)[:, None]   # share of votes for class 1
    return (running > 0.5).astype(int)   # a tie (0.5) goes to class 0, the smaller label, as majority_vote


def _boost_by_rounds(boost, X, n_max) -> np.ndarray:
    scores = np.zeros((2, len(X)))
    out = []
    for model, alpha in zip(boost.models[:n_max], boost.alphas[:n_max]):
        pred = model.predict(X)
        scores += alpha * (pred[None, :] == boost.classes[:, None])
        out.append(boost.classes[np.argmax(scores, axis=0)])
    while len(out) < n_max:          # boosting stopped early: the ensemble stays as it is
        out.append(out[-1])
    return np.array(out)


class EnsembleCurves(NamedTuple):
    method: str
    sizes: np.ndarray          # ensemble sizes 1..MAX_MODELS (or the models of stacking)
    error: np.ndarray          # test error of one training set's ensemble, averaged over sets
    bias: np.ndarray
    variance: np.ndarray
    grid_votes: np.ndarray     # (len(sizes), GRID*GRID) first set's ensemble on the grid (class-1 share or label)
    train_error: np.ndarray    # training error of the first set's ensemble
    labels: tuple              # names of the entries (stacking) or ()


def _decompose(preds_per_set, y_test):
    """``preds_per_set`` (sets, sizes, n_test) -> error, bias, variance for each size."""
    P = np.asarray(preds_per_set)
    rows = [zero_one_bias_variance(P[:, k, :], y_test) for k in range(P.shape[1])]
    return tuple(np.array([getattr(r, f) for r in rows]) for f in ("error", "bias", "variance"))


@lru_cache(maxsize=4)
@single_threaded
def ensemble_curves(method: str) -> EnsembleCurves:
    """Everything the lab shows for one method (computed once)."""
    train, test, (_, _, grid) = moons_sets()
    sizes = np.arange(1, MAX_MODELS + 1)
    if method == "bagging":
        fits = [bagging_fit(d.X, d.y, fit=deep_tree, n_estimators=MAX_MODELS, rng=i) for i, d in enumerate(train)]
        per_set = [_votes_by_size(f.models, test.X, MAX_MODELS) for f in fits]
        share = np.cumsum(np.stack([m.predict(grid) for m in fits[0].models]), 0) / sizes[:, None]
        train_err = np.mean(_votes_by_size(fits[0].models, train[0].X, MAX_MODELS) != train[0].y, axis=1)
        return EnsembleCurves(method, sizes, *_decompose(per_set, test.y), share, train_err, ())
    if method == "boosting":
        fits = [adaboost_fit(d.X, d.y, n_estimators=MAX_MODELS) for d in train]
        per_set = [_boost_by_rounds(f, test.X, MAX_MODELS) for f in fits]
        grid_votes = _boost_by_rounds(fits[0], grid, MAX_MODELS).astype(float)
        train_err = np.mean(_boost_by_rounds(fits[0], train[0].X, MAX_MODELS) != train[0].y, axis=1)
        return EnsembleCurves(method, sizes, *_decompose(per_set, test.y), grid_votes, train_err, ())
    if method == "stacking":
        return _stacking_curves(train, test, grid)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _stacking_curves(train, test, grid) -> EnsembleCurves:
    """Each base learner alone, their majority vote, and the stacked model (one entry each)."""
    labels = tuple(BASE_LEARNERS) + ("majority vote", "stacked (meta-model)")
    per_set, grid_votes, train_err = [], None, None
    for i, d in enumerate(train):
        bases = [fit(d.X, d.y) for fit in BASE_LEARNERS.values()]
        stack = stacking_fit(d.X, d.y, list(BASE_LEARNERS.values()), k=5, rng=i)

        def predict_all(X):
            base = [m.predict(X) for m in bases]
            return np.stack(base + [majority_vote(np.stack(base)), stack.predict(X)])

        per_set.append(predict_all(test.X))
        if i == 0:
            grid_votes = predict_all(grid).astype(float)
            train_err = np.mean(predict_all(d.X) != d.y, axis=1)
    return EnsembleCurves("stacking", np.arange(1, len(labels) + 1), *_decompose(per_set, test.y), grid_votes,
                          train_err, labels)


class EnsembleData(NamedTuple):
    curves: EnsembleCurves
    n_models: int
    index: int                 # row of the curves shown


def compute_ensemble(method: str = "bagging", n_models: int = 1, shown: str = "stacked (meta-model)") -> EnsembleData:
    """The ensemble of ``n_models`` (bagging, boosting) or the stacking entry ``shown``."""
    curves = ensemble_curves(method)
    if method == "stacking":
        index = curves.labels.index(shown)
    else:
        index = int(np.clip(n_models, 1, MAX_MODELS)) - 1
    return EnsembleData(curves, n_models, index)


def describe_ensemble(d: EnsembleData) -> str:
    c, i = d.curves, d.index
    name = c.labels[i] if c.method == "stacking" else f"{c.method} with {i + 1} model{'s' * (i > 0)}"
    return (f"{name}: test error {c.error[i]:.3f} = averaged over {N_SETS} training sets; bias {c.bias[i]:.3f}, "
            f"variance {c.variance[i]:.3f}; training error (first set) {c.train_error[i]:.3f}.")


class EnsembleView(View):
    """Decision regions of the first set's ensemble (left); error, bias and variance (right)."""

    def key(self, d: EnsembleData):
        return d.curves.method

    def setup(self, fig, d: EnsembleData) -> None:
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.2, top=0.9, wspace=0.25)
        c = d.curves
        train, _, (xx, yy, _) = moons_sets()
        self.ax1, self.ax2 = ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
        self.xx, self.yy = xx, yy
        X, y = train[0]
        for label, colour, marker in ((0, PALETTE["orange"], "o"), (1, PALETTE["purple"], "s")):
            ax1.scatter(X[y == label, 0], X[y == label, 1], c=colour, marker=marker, s=14, edgecolors="k",
                        linewidths=0.5, zorder=3)
        ax1.set_xlim(*BOX[0])
        ax1.set_ylim(*BOX[1])
        self.t1 = ax1.set_title(" ", fontsize=9)
        colorbar(ax1, cmap=DIVERGING, vmin=0, vmax=1, label="share of votes for the squares", alpha=0.45)
        if c.method == "stacking":
            x = np.arange(len(c.labels))
            w = 0.27
            for k, (values, colour, label) in enumerate(((c.error, PALETTE["vermillion"], "test error"),
                                                          (c.bias, PALETTE["green"], "bias"),
                                                          (c.variance, PALETTE["purple"], "variance"))):
                ax2.bar(x + (k - 1) * w, values, w, color=colour, label=label)
            ax2.set_xticks(x, [SHORT.get(s, s) for s in c.labels], fontsize=9)
            self.marker = ax2.axvspan(-0.5, 0.5, color="#ddd", alpha=0.6, lw=0, zorder=0)
        else:
            for values, colour, label in ((c.error, PALETTE["vermillion"], "test error"),
                                          (c.bias, PALETTE["green"], "bias"),
                                          (c.variance, PALETTE["purple"], "variance"),
                                          (c.train_error, PALETTE["blue"], "training error (one set)")):
                ax2.plot(c.sizes, values, color=colour, label=label)
            ax2.set_xlabel("trees" if c.method == "bagging" else "boosting rounds (stumps)")
            self.marker = ax2.axvline(1, color="k", lw=1)
        ax2.set_ylim(0, max(0.45, 1.1 * float(np.max(c.error))))
        legend_outside(ax2, "right")
        ax2.set_title(f"{c.method}: 0-1 error split over {N_SETS} training sets", fontsize=9)

    def update(self, d: EnsembleData) -> list:
        c, i = d.curves, d.index
        z = c.grid_votes[i].reshape(self.xx.shape)
        fill = self.ax1.contourf(self.xx, self.yy, z, levels=np.linspace(0, 1, 11), cmap=DIVERGING, alpha=0.45)
        line = self.ax1.contour(self.xx, self.yy, z, levels=[0.5], colors="k", linewidths=1)
        if c.method == "stacking":
            self.marker.set_x(i - 0.5)
            self.t1.set_text(f"{c.labels[i]}: test error {c.error[i]:.3f}")
        else:
            self.marker.set_xdata([i + 1] * 2)
            self.t1.set_text(f"{c.method}, {i + 1} model{'s' * (i > 0)}: test error {c.error[i]:.3f}")
        return self._swap("regions", [fill, line]) + [self.marker, self.t1]
