r"""Ensembles: bagging, AdaBoost and stacking (Unit 4, "Ensemble methods").

The interface is functional and works with any learner:

* ``fit(X, y) -> model`` fits one base model (a closure, a lambda around a
  scikit-learn estimator, or one of :mod:`dlcourse.regularization.learners`);
* ``predict(model, X) -> array`` predicts with it. When ``predict`` is None the
  model's own ``model.predict(X)`` is used, or ``model(X)`` if the model is a function.

Each ``*_fit`` returns a ``NamedTuple`` that has a ``predict(X)`` method, so an
ensemble can itself be a base model of another ensemble.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from .._validate import as_float_array, as_rng, as_seed, check_choice, check_number, check_positive_int
from .learners import DecisionTree, LogisticRegression, check_X_y
from .splits import BootstrapSample, bootstrap_sample, stratified_kfold_indices

__all__ = ["default_predict", "majority_vote", "Bagging", "bagging_fit", "bagging_predict", "AdaBoost",
           "adaboost_fit", "adaboost_predict", "Stacking", "stacking_fit", "stacking_predict"]


def default_predict(model, X) -> np.ndarray:
    """``model.predict(X)`` if the model has it, else ``model(X)``."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    if callable(model):
        return np.asarray(model(X))
    raise TypeError(f"cannot predict with a {type(model).__name__}: it has no predict method and is not "
                    "callable; pass predict=lambda model, X: ...")


def majority_vote(predictions: np.ndarray, weights=None) -> np.ndarray:
    """Most frequent (or heaviest) label in each column of ``predictions`` (M, n); ties go to the smallest label."""
    P = np.asarray(predictions)
    w = np.ones(len(P)) if weights is None else as_float_array(weights, "weights", ndim=1)
    labels, codes = np.unique(P, return_inverse=True)
    codes = codes.reshape(P.shape)
    scores = np.zeros((len(labels), P.shape[1]))
    for m in range(len(P)):
        np.add.at(scores, (codes[m], np.arange(P.shape[1])), w[m])
    return labels[np.argmax(scores, axis=0)]


# --------------------------------------------------------------------------------------- bagging
class Bagging(NamedTuple):
    models: list
    samples: list[BootstrapSample]
    combine: str                      # "vote" (labels) or "mean" (numbers)
    predict_fn: Callable | None = None

    def predict(self, X) -> np.ndarray:
        return bagging_predict(self, X)


def bagging_fit(X, y, fit: Callable | None = None, n_estimators: int = 10, combine: str = "vote",
                predict: Callable | None = None, rng=None) -> Bagging:
    r"""Bootstrap aggregating: fit ``n_estimators`` models, each on a bootstrap sample of ``(X, y)``.

    .. math:: \hat f_{\text{bag}}(x) = \frac{1}{M}\sum_{m=1}^{M} \hat f_m(x) \quad
        \text{or the majority vote of the } \hat f_m(x)

    Parameters
    ----------
    X : array (n, ...)
        Inputs (indexed along the first axis only, so any learner's format works).
    y : array (n,)
        Targets.
    fit : callable ``fit(X, y) -> model``
        Default: a fully grown :class:`DecisionTree` (classification for ``combine="vote"``,
        regression for ``"mean"``), the high-variance learner bagging helps most.
    n_estimators : int
        Number of models ``M``.
    combine : {"vote", "mean"}
        Majority vote of labels, or average of numbers (regression, probabilities).
    predict : callable ``predict(model, X) -> array`` or None (see the module docstring)
    rng : None, int or Generator
        Draws the bootstrap samples.

    Averaging :math:`M` models whose errors have variance :math:`\sigma^2` and pairwise
    correlation :math:`\rho` leaves variance :math:`\rho\sigma^2 + (1 - \rho)\sigma^2/M`
    (Unit 4, "Bagging").
    """
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    n_estimators = check_positive_int(n_estimators, "n_estimators")
    combine = check_choice(combine, {"vote", "mean"}, "combine")
    if fit is None:
        task = "classification" if combine == "vote" else "regression"
        fit = lambda X_, y_: DecisionTree(max_depth=None, task=task).fit(X_, y_)  # noqa: E731
    rng = as_rng(rng)
    X_arr = np.asarray(X)
    samples = [bootstrap_sample(len(y), rng) for _ in range(n_estimators)]
    models = [fit(X_arr[s.indices], y[s.indices]) for s in samples]
    return Bagging(models, samples, combine, predict)


def bagging_predict(bagging: Bagging, X) -> np.ndarray:
    """Combine the models' predictions: majority vote or mean over the ensemble."""
    predict = bagging.predict_fn or default_predict
    P = np.stack([np.asarray(predict(m, X)) for m in bagging.models])
    return majority_vote(P) if bagging.combine == "vote" else P.mean(axis=0)


# -------------------------------------------------------------------------------------- AdaBoost
class AdaBoost(NamedTuple):
    models: list
    alphas: np.ndarray   # weight of each model's vote
    errors: np.ndarray   # weighted training error of each model
    classes: np.ndarray

    def predict(self, X) -> np.ndarray:
        return adaboost_predict(self, X)


def _adaboost_round(model_pred, y, w, n_classes, learning_rate):
    """One SAMME round: the model's weighted error, its vote weight, and the new sample weights."""
    miss = model_pred != y
    err = float(w[miss].sum() / w.sum())
    err_c = min(max(err, 1e-10), 1 - 1e-10)
    alpha = learning_rate * (np.log((1 - err_c) / err_c) + np.log(n_classes - 1))
    w = w * np.exp(alpha * miss)
    return err, alpha, w / w.sum()


def adaboost_fit(X, y, n_estimators: int = 50, fit: Callable | None = None,
                 learning_rate: float = 1.0) -> AdaBoost:
    r"""AdaBoost (SAMME, multi-class) with weighted weak learners, decision stumps by default.

    Starting from uniform weights :math:`w_i = 1/n`, round :math:`m` fits :math:`h_m` to the
    weighted data and sets

    .. math::
        \epsilon_m = \textstyle\sum_i w_i [h_m(x_i) \ne y_i], \quad
        \alpha_m = \eta\Big(\log\frac{1 - \epsilon_m}{\epsilon_m} + \log(K - 1)\Big), \quad
        w_i \leftarrow w_i\, e^{\alpha_m [h_m(x_i) \ne y_i]} \text{ (then normalized)}

    and predicts :math:`\arg\max_k \sum_m \alpha_m [h_m(x) = k]`.

    Parameters
    ----------
    X : array (n, d); y : array (n,) of labels (K >= 2 classes)
    n_estimators : int
        Largest number of rounds; boosting stops early when a model is perfect
        (:math:`\epsilon = 0`) or no better than chance (:math:`\epsilon \ge 1 - 1/K`).
    fit : callable ``fit(X, y, sample_weight) -> model`` with ``model.predict``
        Default: ``DecisionStump().fit``.
    learning_rate : float
        Shrinkage :math:`\eta` of every :math:`\alpha_m`.

    Notes
    -----
    With two classes SAMME's :math:`\alpha` is twice the :math:`\tfrac12\log\frac{1-\epsilon}{\epsilon}`
    of Freund and Schapire's AdaBoost, which scales every vote equally and so gives the
    same predictions. Hastie et al., "Multi-class AdaBoost", 2009.
    """
    X, y = check_X_y(X, y)
    n_estimators = check_positive_int(n_estimators, "n_estimators")
    learning_rate = check_number(learning_rate, "learning_rate", low=0.0, low_open=True)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"y must hold at least 2 classes for boosting, got only {classes.tolist()}")
    fit = fit or (lambda X_, y_, w_: DecisionTree(max_depth=1).fit(X_, y_, sample_weight=w_))
    w, models, alphas, errors = np.full(len(y), 1.0 / len(y)), [], [], []
    for _ in range(n_estimators):
        model = fit(X, y, w)
        err, alpha, w_new = _adaboost_round(default_predict(model, X), y, w, len(classes), learning_rate)
        if err >= 1.0 - 1.0 / len(classes):
            if not models:
                raise ValueError(f"the base learner is no better than chance on the first round (weighted "
                                 f"error {err:.3f} >= {1 - 1 / len(classes):.3f}); use a stronger learner")
            break
        models.append(model)
        alphas.append(alpha)
        errors.append(err)
        if err <= 0.0:
            break
        w = w_new
    return AdaBoost(models, np.array(alphas), np.array(errors), classes)


def adaboost_predict(boost: AdaBoost, X) -> np.ndarray:
    r"""The weighted vote :math:`\arg\max_k \sum_m \alpha_m [h_m(x) = k]`."""
    X = as_float_array(X, "X", ndim=2)
    scores = np.zeros((len(boost.classes), len(X)))
    for model, alpha in zip(boost.models, boost.alphas):
        pred = default_predict(model, X)
        scores += alpha * (pred[None, :] == boost.classes[:, None])
    return boost.classes[np.argmax(scores, axis=0)]


# -------------------------------------------------------------------------------------- stacking
class Stacking(NamedTuple):
    base_models: list
    meta_model: object
    classes: np.ndarray
    features: Callable

    def predict(self, X) -> np.ndarray:
        return stacking_predict(self, X)


def proba_features(model, X, classes) -> np.ndarray:
    """A base model's meta-features: ``predict_proba`` columns aligned to ``classes`` (zeros for
    classes the model never saw), or the one-hot of ``predict`` if it has no probabilities."""
    cols = np.zeros((len(X), len(classes)))
    if hasattr(model, "predict_proba"):
        P = np.asarray(model.predict_proba(X))
        cols[:, np.searchsorted(classes, model.classes_)] = P
        return cols
    pred = default_predict(model, X)
    cols[np.arange(len(X)), np.searchsorted(classes, pred)] = 1.0
    return cols


def _meta_features(models, X, classes, features) -> np.ndarray:
    return np.hstack([features(m, X, classes) for m in models])


def stacking_fit(X, y, base_fits: Sequence[Callable], meta_fit: Callable | None = None, k: int = 5,
                 rng=0, features: Callable = proba_features) -> Stacking:
    r"""Stacked generalization: a meta-model learns to combine the base models' predictions.

    1. For each of ``k`` stratified folds, fit every base learner on the other folds and
       predict the held-out fold: the *out-of-fold* meta-features :math:`Z` (n, M·K), which
       are honest (no model saw the sample it describes).
    2. Fit the meta-model on :math:`(Z, y)`; default :class:`LogisticRegression`.
    3. Refit every base learner on all of ``(X, y)``; prediction feeds their features
       to the meta-model.

    ``base_fits`` are callables ``fit(X, y) -> model``; ``features(model, X, classes)``
    returns a model's meta-features, by default :func:`proba_features`.
    Wolpert, "Stacked generalization", 1992 (Unit 4, "Stacking").
    """
    seed = as_seed(rng, "rng")
    X, y = check_X_y(X, y)
    if len(base_fits) == 0:
        raise ValueError("base_fits must hold at least one fit callable, got an empty sequence")
    classes = np.unique(y)
    meta_fit = meta_fit or (lambda Z, y_: LogisticRegression().fit(Z, y_))
    Z = np.zeros((len(y), len(base_fits) * len(classes)))
    for fold in stratified_kfold_indices(y, k, rng=seed):
        fold_models = [fit(X[fold.train], y[fold.train]) for fit in base_fits]
        Z[fold.val] = _meta_features(fold_models, X[fold.val], classes, features)
    base_models = [fit(X, y) for fit in base_fits]
    return Stacking(base_models, meta_fit(Z, y), classes, features)


def stacking_predict(stack: Stacking, X) -> np.ndarray:
    """Labels predicted by the meta-model from the refitted base models' features."""
    X = as_float_array(X, "X", ndim=2)
    return default_predict(stack.meta_model, _meta_features(stack.base_models, X, stack.classes, stack.features))
