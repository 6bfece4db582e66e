r"""Tiny base learners for the ensembles: a decision tree (and stump) and logistic regression.

Both follow scikit-learn's protocol, ``model.fit(X, y) -> model``, ``model.predict(X)``
and, for classifiers, ``model.predict_proba(X)`` with columns in the order of
``model.classes_``. They are small on purpose (Unit 4, "Ensembles"); use
scikit-learn's for real work.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import softmax
from ..optim import SGD
from .._validate import as_float_array, check_choice, check_number, check_positive_int

__all__ = ["DecisionTree", "DecisionStump", "LogisticRegression", "check_X_y"]


def check_X_y(X, y, name_X: str = "X", name_y: str = "y"):
    """``X`` as a float (n, d) array and ``y`` as an (n,) array of the same length."""
    X = as_float_array(X, name_X, ndim=2)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{name_y} must have shape ({len(X)},) to match {name_X} {X.shape}, got {y.shape}")
    if len(X) == 0:
        raise ValueError(f"{name_X} must hold at least one sample, got shape {X.shape}")
    return X, y


def _check_weight(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.full(n, 1.0 / n)
    w = as_float_array(sample_weight, "sample_weight", ndim=1)
    if len(w) != n or np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError(f"sample_weight must be {n} finite non-negative numbers, not all zero, got shape {w.shape}")
    return w


class _Split(NamedTuple):
    score: float
    feature: int
    threshold: float


def _best_split(X: np.ndarray, Y: np.ndarray, w: np.ndarray, min_leaf: int) -> _Split | None:
    r"""The split maximizing :math:`\sum_k S_{Lk}^2/W_L + S_{Rk}^2/W_R` (S: weighted sums of Y's columns).

    With one-hot ``Y`` this minimizes the weighted Gini impurity of the children; with a
    single column of targets it minimizes their weighted squared error.
    """
    best, n = None, len(X)
    wY, W, S = w[:, None] * Y, w.sum(), (w[:, None] * Y).sum(axis=0)
    for f in range(X.shape[1]):
        order = np.argsort(X[:, f], kind="stable")
        x = X[order, f]
        WL, SL = np.cumsum(w[order])[:-1], np.cumsum(wY[order], axis=0)[:-1]
        WR, SR = W - WL, S - SL
        pos = np.arange(1, n)  # samples on the left
        ok = (x[:-1] < x[1:]) & (pos >= min_leaf) & (n - pos >= min_leaf) & (WL > 1e-12) & (WR > 1e-12)
        if not ok.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(ok, (SL**2).sum(1) / WL + (SR**2).sum(1) / WR, -np.inf)
        i = int(np.argmax(score))
        if best is None or score[i] > best.score:
            best = _Split(float(score[i]), f, 0.5 * (x[i] + x[i + 1]))
    return best


class DecisionTree:
    r"""A depth-limited CART decision tree for classification (Gini) or regression (squared error).

    Parameters
    ----------
    max_depth : int or None
        Depth limit (1 = a stump); None grows until the leaves are pure or too small.
    min_samples_leaf : int
        Smallest number of samples in a leaf.
    task : {"classification", "regression"}

    ``fit(X, y, sample_weight=None)`` takes ``X`` (n, d) and ``y`` (n,); weights (for
    AdaBoost) enter every count. A sample goes left when ``x[feature] <= threshold``.
    Leaves store the weighted class proportions (classification) or the weighted mean.
    """

    def __init__(self, max_depth: int | None = 3, min_samples_leaf: int = 1, task: str = "classification"):
        self.max_depth = None if max_depth is None else check_positive_int(max_depth, "max_depth")
        self.min_samples_leaf = check_positive_int(min_samples_leaf, "min_samples_leaf")
        self.task = check_choice(task, {"classification", "regression"}, "task")

    def fit(self, X, y, sample_weight=None):
        X, y = check_X_y(X, y)
        w = _check_weight(sample_weight, len(X))
        if self.task == "classification":
            self.classes_, codes = np.unique(y, return_inverse=True)
            Y = np.eye(len(self.classes_))[codes]
        else:
            Y = as_float_array(y, "y")[:, None]
        self.feature, self.threshold, self.left, self.right, self.value = [], [], [], [], []
        self._grow(X, Y, w, depth=0)
        self.feature, self.threshold = np.array(self.feature), np.array(self.threshold)
        self.left, self.right, self.value = np.array(self.left), np.array(self.right), np.array(self.value)
        return self

    def _new_leaf(self, value: np.ndarray) -> int:
        for nodes, v in ((self.feature, -1), (self.threshold, 0.0), (self.left, -1), (self.right, -1),
                         (self.value, value)):
            nodes.append(v)
        return len(self.feature) - 1

    def _grow(self, X, Y, w, depth: int) -> int:
        node = self._new_leaf((w @ Y) / w.sum())
        if self.max_depth is not None and depth >= self.max_depth:
            return node
        split = _best_split(X, Y, w, self.min_samples_leaf)
        parent = float(((w @ Y) ** 2).sum() / w.sum())
        if split is None or split.score <= parent + 1e-12 * max(1.0, abs(parent)):
            return node
        go_left = X[:, split.feature] <= split.threshold
        self.feature[node], self.threshold[node] = split.feature, split.threshold
        self.left[node] = self._grow(X[go_left], Y[go_left], w[go_left], depth + 1)
        self.right[node] = self._grow(X[~go_left], Y[~go_left], w[~go_left], depth + 1)
        return node

    def _leaves(self, X) -> np.ndarray:
        if not hasattr(self, "value"):
            raise RuntimeError("DecisionTree.predict called before fit; call fit(X, y) first")
        X = as_float_array(X, "X", ndim=2)
        node = np.zeros(len(X), dtype=int)
        while True:
            inner = self.feature[node] >= 0
            if not inner.any():
                return node
            n = node[inner]
            left = X[inner, self.feature[n]] <= self.threshold[n]
            node[inner] = np.where(left, self.left[n], self.right[n])

    def predict_proba(self, X) -> np.ndarray:
        """Class proportions of each sample's leaf, shape (n, len(classes_))."""
        if self.task != "classification":
            raise AttributeError("predict_proba is for task='classification'")
        leaves = self._leaves(X)
        return self.value[leaves]

    def predict(self, X) -> np.ndarray:
        """Labels (classification) or values (regression), shape (n,)."""
        leaves = self._leaves(X)
        v = self.value[leaves]
        return self.classes_[np.argmax(v, axis=1)] if self.task == "classification" else v[:, 0]

    @property
    def depth(self) -> int:
        """Depth of the fitted tree (0 for a single leaf)."""
        def d(i):
            return 0 if self.feature[i] < 0 else 1 + max(d(self.left[i]), d(self.right[i]))
        return d(0)


def DecisionStump(task: str = "classification") -> DecisionTree:
    """A one-split tree (the weak learner of AdaBoost)."""
    return DecisionTree(max_depth=1, task=task)


class LogisticRegression:
    r"""Multinomial logistic regression with an L2 penalty, fitted by full-batch gradient descent.

    .. math::
        p(y = k \mid x) = \mathrm{softmax}(W x + b)_k, \qquad
        L = -\frac{1}{n}\sum_i \log p(y_i \mid x_i) + \frac{\alpha}{2}\lVert W\rVert^2

    Parameters
    ----------
    alpha : float
        L2 strength on ``W`` (not on ``b``).
    lr : float
        Gradient-descent step.
    max_iter : int
        Largest number of steps; stops earlier when the gradient's largest entry is below ``tol``.

    Notes
    -----
    The steps are :class:`dlcourse.optim.SGD`'s. :meth:`fit` stays outside :func:`dlcourse.train.fit`
    (issue 14): it is a scikit-learn-style estimator (``coef_``, ``intercept_``, ``n_iter_``) that
    stops on the size of the whole gradient, penalty included, which ``fit``'s callbacks do not see.
    """

    def __init__(self, alpha: float = 1e-3, lr: float = 0.5, max_iter: int = 500, tol: float = 1e-6):
        self.alpha = check_number(alpha, "alpha", low=0.0)
        self.lr = check_number(lr, "lr", low=0.0, low_open=True)
        self.max_iter = check_positive_int(max_iter, "max_iter")
        self.tol = check_number(tol, "tol", low=0.0)

    def fit(self, X, y):
        X, y = check_X_y(X, y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        Y = np.eye(len(self.classes_))[codes]
        self.coef_ = np.zeros((len(self.classes_), X.shape[1]))
        self.intercept_ = np.zeros(len(self.classes_))
        opt = SGD([self.coef_, self.intercept_], lr=self.lr)
        for self.n_iter_ in range(1, self.max_iter + 1):
            G = (self._proba(X) - Y) / len(X)
            gW, gb = G.T @ X + self.alpha * self.coef_, G.sum(axis=0)
            opt.step([gW, gb])
            if max(np.abs(gW).max(), np.abs(gb).max()) < self.tol:
                break
        return self

    def _proba(self, X) -> np.ndarray:
        return softmax(X @ self.coef_.T + self.intercept_, axis=1)

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise RuntimeError("LogisticRegression.predict_proba called before fit; call fit(X, y) first")
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"X must have {self.coef_.shape[1]} features like the training data, got {X.shape}")
        return self._proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
