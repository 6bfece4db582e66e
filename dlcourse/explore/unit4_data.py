r"""Data-side experiments: feature scaling, leakage, and class imbalance (Unit 4, "Data").

* :func:`standardize` fits the mean and standard deviation on the training data only and
  applies them to every split (fitting them on all the data leaks the test set into training).
* :func:`imbalanced_digits` builds a rare-class problem: "is this digit a 3?" with only a tenth
  of the training 3s kept, about one positive in ninety.
* :func:`train_softmax` trains softmax regression by full-batch gradient descent, optionally
  with class weights (:func:`dlcourse.losses.cross_entropy` with ``weight``), and
  :func:`oversample` repeats the rare class until the classes are balanced.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..data import load_digits, train_test_split
from ..losses import cross_entropy_grad
from ..metrics import f1, precision, recall
from ..optim import SGD
from .threads import single_threaded


def standardize(X_train, *others):
    """``(X - mean) / std`` with the training set's statistics, for the training set and every other one."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple((X - mean) / std for X in (X_train,) + others)


def train_softmax(X, y, n_classes: int | None = None, weight=None, steps: int = 300, lr: float = 0.5) -> np.ndarray:
    """Softmax regression ``(C, d + 1)`` (last column the bias) by full-batch gradient descent.

    ``weight`` (C,) multiplies each class's terms of the cross-entropy, as in torch's
    ``CrossEntropyLoss(weight=...)`` (a weighted mean). The gradient is
    :func:`dlcourse.losses.cross_entropy_grad`'s, the step :class:`dlcourse.optim.SGD`'s; it stays
    outside :func:`dlcourse.train.fit` (issue 14) because the weights are one matrix with the bias
    as its last column (what :func:`predict_softmax` and the lab's plots read), not a layer.
    """
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    Xb = np.c_[X, np.ones(len(X))]
    W = np.zeros((n_classes, Xb.shape[1]))
    opt = SGD([W], lr=lr)
    for _ in range(steps):
        opt.step([cross_entropy_grad(Xb @ W.T, y, weight=weight).T @ Xb])
    return W


def predict_softmax(W, X) -> np.ndarray:
    return (np.c_[X, np.ones(len(X))] @ W.T).argmax(axis=1)


class Imbalanced(NamedTuple):
    X_train: np.ndarray
    y_train: np.ndarray     # 1 for "3", 0 for any other digit
    X_test: np.ndarray
    y_test: np.ndarray


def imbalanced_digits(keep: float = 0.1, positive: int = 3, rng=0) -> Imbalanced:
    """Digits as "``positive`` or not", keeping only a fraction ``keep`` of the positive training digits."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    pos = np.flatnonzero(ytr == positive)
    kept = np.random.default_rng(seed).permutation(pos)[: max(1, int(keep * len(pos)))]
    rows = np.sort(np.r_[np.flatnonzero(ytr != positive), kept])
    return Imbalanced(Xtr[rows], (ytr[rows] == positive).astype(int), Xte, (yte == positive).astype(int))


def oversample(X, y, rng=0):
    """Repeat randomly drawn members of each smaller class until every class is as large as the largest."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    rows = [np.flatnonzero(y == c) for c in range(len(counts))]
    extra = [rng.choice(r, counts.max() - len(r), replace=True) for r in rows if len(r)]
    idx = np.r_[np.arange(len(y)), np.concatenate(extra)] if extra else np.arange(len(y))
    return X[idx], y[idx]


def rare_class_scores(y_true, y_pred) -> dict:
    """Accuracy, and precision, recall and F1 of the rare class 1."""
    return {"accuracy": float(np.mean(y_true == y_pred)), "precision": precision(y_true, y_pred),
            "recall": recall(y_true, y_pred), "F1": f1(y_true, y_pred)}


@single_threaded
def imbalance_experiment(rng=0) -> dict:
    """The three remedies compared on :func:`imbalanced_digits`: name -> scores on the test set."""
    seed = as_seed(rng, "rng")
    d = imbalanced_digits(rng=seed)
    counts = np.bincount(d.y_train)
    out = {"no remedy": train_softmax(d.X_train, d.y_train),
           "oversampling": train_softmax(*oversample(d.X_train, d.y_train, seed)),
           "class weights": train_softmax(d.X_train, d.y_train, weight=len(d.y_train) / (2.0 * counts))}
    return {name: rare_class_scores(d.y_test, predict_softmax(W, d.X_test)) for name, W in out.items()}


def _top_features(X, y, k: int) -> np.ndarray:
    """The ``k`` features most correlated (in absolute value) with the labels."""
    Xc, yc = X - X.mean(0), y - y.mean()
    corr = np.abs(Xc.T @ yc) / (np.sqrt((Xc ** 2).sum(0) * (yc ** 2).sum()) + 1e-12)
    return np.argsort(corr)[::-1][:k]


@single_threaded
def leakage_experiment(n: int = 60, d: int = 2000, k: int = 20, folds: int = 5, rng=0) -> dict:
    """Pure noise (random features, random labels): cross-validated accuracy when the ``k`` "best" features are
    chosen on all the data first (leaky) and when they are chosen inside each training fold (honest)."""
    seed = as_seed(rng, "rng")
    from ..regularization import LogisticRegression, stratified_kfold_indices

    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.permutation(np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)])
    leaky_cols = _top_features(X, y, k)
    scores = {"features chosen on all data (leaky)": [], "features chosen inside each fold (honest)": []}
    for fold in stratified_kfold_indices(y, folds, rng=seed):
        for name, cols in zip(scores, (leaky_cols, _top_features(X[fold.train], y[fold.train], k))):
            model = LogisticRegression(alpha=1e-2, lr=0.5, max_iter=200).fit(X[fold.train][:, cols], y[fold.train])
            scores[name].append(np.mean(model.predict(X[fold.val][:, cols]) == y[fold.val]))
    return {name: float(np.mean(v)) for name, v in scores.items()}
