r"""Metrics to read beside the loss (Unit 2, "Metrics beside losses").

A loss is what gradient descent minimises; a metric is what we report. The
classification metrics follow scikit-learn: the same argument order
``(y_true, y_pred)`` (note: the losses take ``(pred, target)`` like PyTorch), the same
``average``, ``pos_label`` and ``zero_division`` settings, and the same values.

For one class, with TP, FP and FN the true positives, false positives and false
negatives:

.. math::
    \text{precision} = \frac{TP}{TP + FP}, \qquad
    \text{recall} = \frac{TP}{TP + FN}, \qquad
    F_1 = \frac{2\,TP}{2\,TP + FP + FN}
        = \frac{2 \cdot \text{precision} \cdot \text{recall}}{\text{precision} + \text{recall}}

A ratio whose denominator is 0 (a class never predicted, say) is ``zero_division``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_finite, check_positive_int
from . import losses
from .losses import _class_indices

__all__ = ["accuracy", "confusion_matrix", "precision", "recall", "f1", "mae", "rmse", "METRICS"]

AVERAGES = ("binary", "macro", "micro", "weighted", None)


def _labels(y, name: str) -> np.ndarray:
    """A non-empty 1-D array of labels (numbers or strings)."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array of labels, got {type(y).__name__}")
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype.kind not in "biufUS":
        raise TypeError(f"{name} must hold numbers or strings, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        check_finite(arr, name)
    return arr


def _label_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    if (y_true.dtype.kind in "US") != (y_pred.dtype.kind in "US"):
        raise TypeError(f"y_true and y_pred must both hold numbers or both strings, "
                        f"got dtypes {y_true.dtype} and {y_pred.dtype}")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    r"""Fraction of correct predictions, as ``sklearn.metrics.accuracy_score``.

    .. math:: \text{accuracy} = \frac{1}{N} \sum_i [\hat y_i = y_i]

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels.

    Notes
    -----
    Misleading under class imbalance: predicting the majority class of a 95/5 split
    scores 0.95 (Unit 2, "Class imbalance").
    """
    y_true, y_pred = _label_pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    r"""Counts of (true class, predicted class) pairs: rows true, columns predicted.

    ``C[i, j]`` is the number of samples of class ``i`` predicted as ``j``, as
    ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(num_classes))``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        Class indices in :math:`[0, K)`.
    num_classes : int, optional
        :math:`K`; by default one more than the largest label seen.

    Returns
    -------
    ndarray of int64, shape (K, K)
        The diagonal holds the correct predictions; its sum over ``C.sum()`` is the accuracy.
    """
    _label_pair(y_true, y_pred)
    k = None if num_classes is None else check_positive_int(num_classes, "num_classes")
    t = _class_indices(y_true, "y_true", None, k, "y_pred")
    p = _class_indices(y_pred, "y_pred", None, k, "y_true")
    if k is None:
        k = int(max(t.max(), p.max())) + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


class _Counts(NamedTuple):
    """Per-label counts of the binary one-vs-rest problems."""
    labels: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


def _counts(y_true, y_pred, average, pos_label) -> _Counts:
    y_true, y_pred = _label_pair(y_true, y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred]))
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(f"average='binary' needs at most 2 distinct labels, got {len(labels)}: "
                             f"{labels.tolist()[:10]}; for multiclass data pass average='macro', "
                             "'micro', 'weighted' or None")
        if len(labels) == 2 and pos_label not in labels.tolist():
            raise ValueError(f"pos_label must be one of the labels {labels.tolist()}, got {pos_label!r}")
        labels = np.asarray([pos_label])
    true_hit = y_true[None, :] == labels[:, None]
    pred_hit = y_pred[None, :] == labels[:, None]
    tp = np.sum(true_hit & pred_hit, axis=1)
    return _Counts(labels, tp, np.sum(pred_hit, axis=1) - tp, np.sum(true_hit, axis=1) - tp)


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), zero_division)


def _score(kind: str, y_true, y_pred, average, pos_label, zero_division):
    """Precision, recall or F1 (``kind``) per label, then averaged as asked."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {list(AVERAGES)}, got {average!r}")
    if isinstance(zero_division, bool) or zero_division not in (0, 1):
        raise ValueError(f"zero_division must be 0 or 1 (the score where it is undefined), got {zero_division!r}")
    c = _counts(y_true, y_pred, average, pos_label)
    tp, fp, fn = (c.tp.sum(), c.fp.sum(), c.fn.sum()) if average == "micro" else (c.tp, c.fp, c.fn)
    den = {"precision": tp + fp, "recall": tp + fn, "f1": 2 * tp + fp + fn}[kind]
    num = 2 * tp if kind == "f1" else tp
    per_label = _divide(num, den, float(zero_division))
    if average is None:
        return per_label
    if average == "weighted":
        support = c.tp + c.fn
        return float(np.sum(per_label * support) / support.sum()) if support.sum() else float(zero_division)
    return float(np.mean(per_label))


_AVERAGE_DOC = r"""
    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
        True and predicted labels (numbers or strings).
    average : {"binary", "macro", "micro", "weighted"} or None
        ``"binary"``: the score of ``pos_label`` only (data with at most two labels);
        ``"macro"``: the unweighted mean over labels; ``"micro"``: from the TP, FP, FN
        summed over labels; ``"weighted"``: the mean weighted by each label's support
        (its count in ``y_true``); ``None``: one score per label, in sorted label order.
        The labels are those present in ``y_true`` or ``y_pred``, as in scikit-learn.
    pos_label : int or str
        The positive class for ``average="binary"`` (default 1).
    zero_division : {0, 1}
        The score where its denominator is 0 (default 0).

    Returns
    -------
    float, or ndarray of shape (n_labels,) when ``average=None``.
"""


def precision(y_true, y_pred, average: str | None = "binary", pos_label=1, zero_division: float = 0.0):
    return _score("precision", y_true, y_pred, average, pos_label, zero_division)


def recall(y_true, y_pred, average: str | None = "binary", pos_label=1, zero_division: float = 0.0):
    return _score("recall", y_true, y_pred, average, pos_label, zero_division)


def f1(y_true, y_pred, average: str | None = "binary", pos_label=1, zero_division: float = 0.0):
    return _score("f1", y_true, y_pred, average, pos_label, zero_division)


precision.__doc__ = r"""Precision :math:`TP/(TP + FP)`: of the predicted positives, the share that is right.

    As ``sklearn.metrics.precision_score``. High precision = few false alarms.
""" + _AVERAGE_DOC
recall.__doc__ = r"""Recall :math:`TP/(TP + FN)`: of the actual positives, the share that is found.

    As ``sklearn.metrics.recall_score``. High recall = few misses.
""" + _AVERAGE_DOC
f1.__doc__ = r"""F1 score :math:`2TP/(2TP + FP + FN)`, the harmonic mean of precision and recall.

    As ``sklearn.metrics.f1_score``. Near the smaller of the two, so it cannot be
    bought by maximising one alone.
""" + _AVERAGE_DOC


def _regression_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = as_float_array(y_true, "y_true", ndim=1), as_float_array(y_pred, "y_pred", ndim=1)
    if y_true.size == 0:
        raise ValueError("y_true must not be empty")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    check_finite(y_true, "y_true")
    check_finite(y_pred, "y_pred")
    return y_true, y_pred


def mae(y_true, y_pred) -> float:
    r"""Mean absolute error, as ``sklearn.metrics.mean_absolute_error``.

    .. math:: \mathrm{MAE} = \frac{1}{N} \sum_i |y_i - \hat y_i|

    In the units of the target. Same value as :func:`dlcourse.losses.mae`, whose
    arguments come in PyTorch's order ``(pred, target)``.
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return losses.mae(y_pred, y_true)


def rmse(y_true, y_pred) -> float:
    r"""Root mean squared error, as ``sklearn.metrics.root_mean_squared_error``.

    .. math:: \mathrm{RMSE} = \sqrt{\frac{1}{N} \sum_i (y_i - \hat y_i)^2}

    In the units of the target, like MAE, but weighting large errors more
    (:math:`\mathrm{RMSE} \ge \mathrm{MAE}`).
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


METRICS = {
    "accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
    "mae": mae, "rmse": rmse,
}
"""The scalar metrics by name (``confusion_matrix`` returns a matrix and is not listed)."""
