r"""Loss functions and their gradients (Unit 2, "Loss functions").

The contract of this module, stated once:

* every loss is a function ``name(input, target, ...) -> float`` that averages over the
  samples (PyTorch's ``reduction="mean"``), with PyTorch's argument names, order and
  defaults where PyTorch has the same loss;
* every loss has a twin ``name_grad(input, target, ...) -> ndarray``, the gradient of that
  float with respect to the *first* argument, with the first argument's shape;
* :func:`mse`, :func:`mae`, :func:`huber` and :func:`categorical_cross_entropy` also take
  PyTorch's ``reduction``: ``"mean"`` (the default), ``"sum"``, or ``"none"`` for the loss of
  every element (of every row for ``categorical_cross_entropy``), as an array; their
  ``_grad`` twins then give the gradient of the sum (for ``"none"``, each element's
  derivative of its own term), so that a batch of models can average per model;
* both are registered by name in :data:`LOSS_FUNCTIONS` as ``(loss, grad)``.

Everything is NumPy in float64. Every function validates its arguments and raises a
``TypeError`` or ``ValueError`` naming the argument, what was expected and what was
received. Inputs may be extreme: logits of :math:`\pm 10^4` and probabilities of exactly 0
or 1 give finite values and finite gradients (log-sum-exp, losses on logits, and logs
clamped at :math:`-100` as PyTorch clamps them).

Pairing output layers with losses (Unit 2, "Pairing output layers with losses"):

=======================  ==============================  =================
output layer             loss                            gradient w.r.t. z
=======================  ==============================  =================
linear, ŷ = z            :func:`mse`, halved: ½(ŷ − y)²  (ŷ − y) / N
sigmoid, ŷ = σ(z)        :func:`binary_cross_entropy`    (ŷ − y) / N
softmax, ŷ = softmax(z)  :func:`cross_entropy`           (ŷ − y) / N
=======================  ==============================  =================

In each pair the derivative of the output layer cancels the derivative of the loss, and
the gradient with respect to the logits :math:`z` is the error :math:`\hat y - y` divided
by the batch size :math:`N` (``mse`` itself, without the ½, gives :math:`2(\hat y - y)/N`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_choice, check_finite, check_number
from .activations import log_softmax, sigmoid

__all__ = [
    "mse", "mae", "huber", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "categorical_cross_entropy", "kl_divergence", "hinge",
    "multiclass_hinge", "margin_ranking", "triplet_margin", "contrastive",
    "mse_grad", "mae_grad", "huber_grad", "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad", "cross_entropy_grad", "cross_entropy_with_grad",
    "categorical_cross_entropy_grad", "kl_divergence_grad", "hinge_grad",
    "multiclass_hinge_grad", "margin_ranking_grad", "triplet_margin_grad", "contrastive_grad",
    "LOSS_FUNCTIONS", "get_loss",
]

LOG_CLAMP = -100.0
"""Lower bound of every :math:`\\log p` of a probability, as in ``F.binary_cross_entropy``."""

GRAD_EPS = 1e-12
"""Smallest probability divided by in a gradient (the ``EPSILON`` of PyTorch's BCE backward)."""

PAIRWISE_EPS = 1e-6
"""The ``eps`` that ``F.pairwise_distance`` adds to the difference in :func:`triplet_margin`."""

REDUCTIONS = ("mean", "sum", "none")
"""PyTorch's ``reduction`` values, taken by the losses whose docstring lists ``reduction``."""


# --------------------------------------------------------------------------- validation

def _index(mask: np.ndarray) -> tuple[int, ...]:
    """Index of the first ``True`` of ``mask``, as a tuple of Python ints."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _array(x, name: str, ndim=None) -> np.ndarray:
    """A finite, non-empty float64 array."""
    arr = as_float_array(x, name, ndim)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    check_finite(arr, name)
    return arr


def _pair(a, b, name_a: str, name_b: str, ndim=None) -> tuple[np.ndarray, np.ndarray]:
    """Two finite, non-empty float arrays of the same shape."""
    a, b = _array(a, name_a, ndim), _array(b, name_b, ndim)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _check_probabilities(arr: np.ndarray, name: str) -> None:
    bad = (arr < 0.0) | (arr > 1.0)
    if np.any(bad):
        idx = _index(bad)
        raise ValueError(f"{name} must contain probabilities in [0, 1], got {arr[idx]} at index {idx}; "
                         "apply a sigmoid or softmax first, or use the loss that takes logits")


def _check_rows_sum_to_one(arr: np.ndarray, name: str) -> None:
    sums = arr.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-6
    if np.any(bad):
        row = int(np.argmax(bad))
        raise ValueError(f"{name} must hold one distribution per row (each row summing to 1), "
                         f"got a sum of {sums[row]:.6g} in row {row}")


def _check_values_in(arr: np.ndarray, name: str, allowed: tuple[float, float], words: str) -> None:
    bad = ~np.isin(arr, allowed)
    if np.any(bad):
        idx = _index(bad)
        raise ValueError(f"{name} must contain only {words}, got {arr[idx]} at index {idx}")


def _class_indices(target, name: str, shape: tuple, num_classes: int | None, against: str) -> np.ndarray:
    """Integer class indices of the given ``shape`` in ``[0, num_classes)`` as an int64 array."""
    if isinstance(target, (str, bytes)) or target is None:
        raise TypeError(f"{name} must be an array of integer class indices, got {type(target).__name__}")
    arr = np.asarray(target)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of integer class indices, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if np.any(bad):
            idx = _index(bad)
            raise ValueError(f"{name} must contain integer class indices, got {arr[idx]} at index {idx}")
    if shape is not None and arr.shape != shape:
        want = "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")
        raise ValueError(f"{name} must have shape {want} to match {against}, got {arr.shape}")
    arr = arr.astype(np.int64)
    hi = num_classes if num_classes is not None else np.iinfo(np.int64).max
    bad = (arr < 0) | (arr >= hi)
    if np.any(bad):
        idx = _index(bad)
        rng = f"[0, {num_classes})" if num_classes is not None else "[0, inf)"
        raise ValueError(f"{name} must contain class indices in {rng}, got {arr[idx]} at index {idx}")
    return arr


def _check_reduction(reduction) -> str:
    if not isinstance(reduction, str):
        raise TypeError(f"reduction must be one of {list(REDUCTIONS)}, got {type(reduction).__name__} {reduction!r}")
    return check_choice(reduction, REDUCTIONS, "reduction")


def _reduce(terms: np.ndarray, reduction: str, n: int):
    """``terms`` summed and divided by ``n`` (``"mean"``), summed (``"sum"``), or as they are (``"none"``)."""
    if reduction == "none":
        return terms
    return float(np.sum(terms) / n) if reduction == "mean" else float(np.sum(terms))


def _reduce_grad(grad: np.ndarray, reduction: str, n: int) -> np.ndarray:
    """The gradient of the summed terms, divided by ``n`` for ``"mean"``."""
    return grad / n if reduction == "mean" else grad


def _clamped_log(p: np.ndarray) -> np.ndarray:
    """:math:`\\max(\\log p, -100)`, so that :math:`p = 0` gives a finite value."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), LOG_CLAMP)


# --------------------------------------------------------------------------- regression

def mse(pred, target, reduction: str = "mean"):
    r"""Mean squared error, as ``F.mse_loss`` (Unit 2, "Regression losses").

    .. math:: L = \frac{1}{N} \sum_i (\hat y_i - y_i)^2

    Parameters
    ----------
    pred, target : array_like, same shape (any)
        Predictions and targets; :math:`N` is the number of elements.
    reduction : {"mean", "sum", "none"}
        As PyTorch's: the mean (a float, the formula above), the sum (a float), or every
        :math:`(\hat y_i - y_i)^2` (an array of ``pred``'s shape).

    Notes
    -----
    Pairs with a linear output layer: the gradient with respect to the output is
    :math:`2(\hat y - y)/N`, or :math:`(\hat y - y)/N` for the halved loss
    :math:`\tfrac12 \mathrm{MSE}`. Squaring makes large errors dominate, so one outlier
    can pull the fit (compare :func:`mae` and :func:`huber`).
    """
    pred, target = _pair(pred, target, "pred", "target")
    reduction = _check_reduction(reduction)
    if reduction == "mean":
        return float(np.mean((pred - target) ** 2))
    return _reduce((pred - target) ** 2, reduction, pred.size)


def mse_grad(pred, target, reduction: str = "mean") -> np.ndarray:
    r""":math:`\partial L / \partial \hat y = 2(\hat y - y)/N`, shape of ``pred``.

    Without the division by :math:`N` for ``reduction="sum"`` or ``"none"``.
    """
    pred, target = _pair(pred, target, "pred", "target")
    reduction = _check_reduction(reduction)
    return _reduce_grad(2.0 * (pred - target), reduction, pred.size)


def mae(pred, target, reduction: str = "mean"):
    r"""Mean absolute error, as ``F.l1_loss`` (Unit 2, "Regression losses").

    .. math:: L = \frac{1}{N} \sum_i |\hat y_i - y_i|

    Parameters
    ----------
    pred, target : array_like, same shape (any)
    reduction : {"mean", "sum", "none"}
        As PyTorch's: the mean (a float), the sum (a float), or every :math:`|\hat y_i - y_i|`.

    Notes
    -----
    Less sensitive to outliers than :func:`mse`; it has a kink at :math:`\hat y = y`.
    """
    pred, target = _pair(pred, target, "pred", "target")
    reduction = _check_reduction(reduction)
    if reduction == "mean":
        return float(np.mean(np.abs(pred - target)))
    return _reduce(np.abs(pred - target), reduction, pred.size)


def mae_grad(pred, target, reduction: str = "mean") -> np.ndarray:
    r""":math:`\operatorname{sign}(\hat y - y)/N` (0 at the kink, as PyTorch), shape of ``pred``.

    Without the division by :math:`N` for ``reduction="sum"`` or ``"none"``.
    """
    pred, target = _pair(pred, target, "pred", "target")
    reduction = _check_reduction(reduction)
    return _reduce_grad(np.sign(pred - target), reduction, pred.size)


def huber(pred, target, delta: float = 1.0, reduction: str = "mean"):
    r"""Huber loss, as ``F.huber_loss`` (Unit 2, "Regression losses").

    .. math::
        L = \frac{1}{N} \sum_i \begin{cases}
            \tfrac12 r_i^2 & |r_i| < \delta \\
            \delta \left(|r_i| - \tfrac12 \delta\right) & \text{otherwise}
        \end{cases}, \qquad r = \hat y - y

    Parameters
    ----------
    pred, target : array_like, same shape (any)
    delta : float > 0
        Where the quadratic turns linear (default 1.0).
    reduction : {"mean", "sum", "none"}
        As PyTorch's: the mean (a float), the sum (a float), or every element's term.

    Notes
    -----
    Quadratic (like MSE) for small residuals, linear (like MAE) for large ones:
    differentiable everywhere and robust to outliers.
    """
    pred, target = _pair(pred, target, "pred", "target")
    delta = check_number(delta, "delta", low=0.0, low_open=True)
    reduction = _check_reduction(reduction)
    r = np.abs(pred - target)
    terms = np.where(r < delta, 0.5 * r * r, delta * (r - 0.5 * delta))
    return float(np.mean(terms)) if reduction == "mean" else _reduce(terms, reduction, pred.size)


def huber_grad(pred, target, delta: float = 1.0, reduction: str = "mean") -> np.ndarray:
    r""":math:`\operatorname{clip}(\hat y - y, -\delta, \delta)/N`, shape of ``pred``.

    Without the division by :math:`N` for ``reduction="sum"`` or ``"none"``.
    """
    pred, target = _pair(pred, target, "pred", "target")
    delta = check_number(delta, "delta", low=0.0, low_open=True)
    reduction = _check_reduction(reduction)
    return _reduce_grad(np.clip(pred - target, -delta, delta), reduction, pred.size)


# --------------------------------------------------------------------------- binary classification

def _bce_args(probs, target) -> tuple[np.ndarray, np.ndarray]:
    probs, target = _pair(probs, target, "probs", "target")
    _check_probabilities(probs, "probs")
    _check_probabilities(target, "target")
    return probs, target


def binary_cross_entropy(probs, target) -> float:
    r"""Binary cross-entropy on probabilities, as ``F.binary_cross_entropy``.

    Unit 2, "Classification losses".

    .. math:: L = -\frac{1}{N} \sum_i \big[y_i \log p_i + (1 - y_i) \log(1 - p_i)\big]

    Parameters
    ----------
    probs : array_like, any shape
        Predicted probabilities :math:`p_i = \sigma(z_i)` in :math:`[0, 1]`.
    target : array_like, shape of ``probs``
        Labels in :math:`[0, 1]` (0/1, or soft labels).

    Notes
    -----
    Pairs with a sigmoid output layer; the gradient with respect to the logits is then
    :math:`(p - y)/N`. Each log is clamped at :math:`-100` as PyTorch does, so a
    probability of exactly 0 or 1 gives a finite loss. Prefer
    :func:`binary_cross_entropy_with_logits`, which never forms :math:`\log 0`.
    """
    probs, target = _bce_args(probs, target)
    terms = target * _clamped_log(probs) + (1.0 - target) * _clamped_log(1.0 - probs)
    return float(-np.mean(terms))


def binary_cross_entropy_grad(probs, target) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy` with respect to ``probs``.

    .. math:: \frac{\partial L}{\partial p_i} = \frac{1}{N}\left(
              -\frac{y_i}{\max(p_i, \epsilon)} + \frac{1 - y_i}{\max(1 - p_i, \epsilon)}\right),
              \qquad \epsilon = 10^{-12}

    Notes
    -----
    Clipping :math:`p` and :math:`1 - p` to at least :math:`\epsilon` keeps the gradient
    finite at :math:`p \in \{0, 1\}` (about :math:`\mp 10^{12}/N` when the prediction is
    certain and wrong). PyTorch writes the same derivative as
    :math:`(p - y)/\max(p(1 - p), \epsilon)` (its :math:`\epsilon` is the float32 nearest
    :math:`10^{-12}`), which agrees wherever :math:`p(1 - p) \ge \epsilon`. At a certain
    *and correct* prediction (:math:`p = y \in \{0, 1\}`) PyTorch returns 0, whereas
    this returns the one-sided derivative :math:`\pm 1/N`.
    """
    probs, target = _bce_args(probs, target)
    g = -target / np.maximum(probs, GRAD_EPS) + (1.0 - target) / np.maximum(1.0 - probs, GRAD_EPS)
    return g / probs.size


def _bce_logits_args(logits, target) -> tuple[np.ndarray, np.ndarray]:
    logits, target = _pair(logits, target, "logits", "target")
    _check_probabilities(target, "target")
    return logits, target


def binary_cross_entropy_with_logits(logits, target) -> float:
    r"""Sigmoid and binary cross-entropy in one stable step, as ``F.binary_cross_entropy_with_logits``.

    Unit 2, "Numerical stability".

    .. math:: L = \frac{1}{N} \sum_i \big[\max(z_i, 0) - z_i y_i + \log(1 + e^{-|z_i|})\big]

    which equals :func:`binary_cross_entropy` of :math:`\sigma(z)` without ever computing
    :math:`\log 0` or :math:`e^{+\text{large}}`.

    Parameters
    ----------
    logits : array_like, any shape
        Scores :math:`z` before the sigmoid.
    target : array_like, shape of ``logits``
        Labels in :math:`[0, 1]`.

    Notes
    -----
    The gradient with respect to the logits is :math:`(\sigma(z) - y)/N`: the
    sigmoid + BCE pairing.
    """
    z, y = _bce_logits_args(logits, target)
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def binary_cross_entropy_with_logits_grad(logits, target) -> np.ndarray:
    r""":math:`(\sigma(z) - y)/N`, shape of ``logits``."""
    z, y = _bce_logits_args(logits, target)
    return (sigmoid(z) - y) / z.size


# --------------------------------------------------------------------------- multiclass classification

class _CrossEntropyTerms(NamedTuple):
    """Flattened pieces shared by :func:`cross_entropy` and its gradient."""
    log_probs: np.ndarray     # (M, C) log-softmax over classes, M = N * H * W
    coef: np.ndarray | None   # (M, C) weight of each -log p in the loss (before / total); None: one-hot targets
    total: float              # the normaliser: sum of the target classes' weights
    shape: tuple              # the logits' shape, to fold the gradient back
    target: np.ndarray        # (M,) class indices



def _cross_entropy_terms(logits, target, weight, label_smoothing) -> _CrossEntropyTerms:
    z = _array(logits, "logits")
    if z.ndim < 2:
        raise ValueError(f"logits must have shape (N, C) or (N, C, H, W), got {z.shape} ({z.ndim}-D); "
                         "for one sample use logits[None] and target[None]")
    n_classes = z.shape[1]
    t = _class_indices(target, "target", (z.shape[0],) + z.shape[2:], n_classes, f"logits {z.shape}")
    w = np.ones(n_classes) if weight is None else _array(weight, "weight")
    if w.shape != (n_classes,):
        raise ValueError(f"weight must have shape ({n_classes},), one weight per class, got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"weight must be non-negative, got {w[_index(w < 0)]} at index {_index(w < 0)}")
    eps = check_number(label_smoothing, "label_smoothing", low=0.0, high=1.0)
    flat_z = np.moveaxis(z, 1, -1).reshape(-1, n_classes)
    flat_t = t.reshape(-1)
    if weight is None and eps == 0.0:        # the common case: no dense coefficients (the same numbers, faster)
        return _CrossEntropyTerms(log_softmax(flat_z), None, float(flat_t.size), z.shape, flat_t)
    coef = np.tile(eps / n_classes * w, (flat_t.size, 1))
    coef[np.arange(flat_t.size), flat_t] += (1.0 - eps) * w[flat_t]
    total = float(np.sum(w[flat_t]))
    if total == 0.0:
        raise ValueError("weight of every class present in target is 0, so the weighted mean is undefined; "
                         "give the classes in target a positive weight")
    return _CrossEntropyTerms(log_softmax(flat_z), coef, total, z.shape, flat_t)


def cross_entropy(logits, target, weight=None, label_smoothing: float = 0.0) -> float:
    r"""Softmax cross-entropy on logits and class indices, as ``F.cross_entropy``.

    Unit 2, "Classification losses"; per pixel, "Segmentation: pixel-wise cross-entropy".

    .. math::
        L = -\frac{1}{\sum_i w_{y_i}} \sum_i \sum_c a_{ic} \log \operatorname{softmax}(z_i)_c,
        \qquad a_{ic} = (1 - \varepsilon)\, w_{y_i} [c = y_i] + \frac{\varepsilon}{C} w_c

    With no ``weight`` (:math:`w = 1`) and no smoothing (:math:`\varepsilon = 0`) this is the
    mean of :math:`-\log \hat y_{i, y_i}`, the "sparse categorical cross-entropy".

    Parameters
    ----------
    logits : array_like, shape (N, C) or (N, C, H, W)
        Scores before the softmax; the softmax runs over axis 1 (the classes).
    target : array_like of int, shape (N,) or (N, H, W)
        Class indices in :math:`[0, C)`.
    weight : array_like, shape (C,), optional
        Non-negative class weights :math:`w` (Unit 2, "Class imbalance"). As in PyTorch
        the mean is *weighted*: divided by :math:`\sum_i w_{y_i}`, not by :math:`N`.
    label_smoothing : float in [0, 1]
        :math:`\varepsilon`: the target becomes :math:`(1 - \varepsilon)` on the true class
        plus :math:`\varepsilon / C` on every class (Unit 2, "Label noise").

    Notes
    -----
    Computed from the log-softmax by the log-sum-exp trick, so logits of :math:`\pm 10^4`
    are safe. Pairs with a softmax output layer: the gradient with respect to the logits
    is :math:`(\hat y - y)/N` with :math:`\hat y = \operatorname{softmax}(z)` and
    :math:`y` the one-hot target. :math:`N` counts every pixel for (N, C, H, W) input.
    """
    return _cross_entropy_value(_cross_entropy_terms(logits, target, weight, label_smoothing))


def _cross_entropy_value(terms: _CrossEntropyTerms) -> float:
    coef = terms.coef
    if coef is None:            # one-hot coefficients: the same product and sum as with weights, bit for bit
        coef = np.zeros(terms.log_probs.shape)
        coef[np.arange(terms.target.size), terms.target] = 1.0
    return float(-np.sum(coef * terms.log_probs) / terms.total)


def cross_entropy_grad(logits, target, weight=None, label_smoothing: float = 0.0) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``, shape of ``logits``.

    .. math:: \frac{\partial L}{\partial z_{ik}} =
              \frac{\big(\sum_c a_{ic}\big)\, \hat y_{ik} - a_{ik}}{\sum_i w_{y_i}}

    which is :math:`(\hat y - y)/N` without weights and smoothing.
    """
    return _cross_entropy_gradient(_cross_entropy_terms(logits, target, weight, label_smoothing))


def cross_entropy_with_grad(logits, target, weight=None, label_smoothing: float = 0.0) -> tuple[float, np.ndarray]:
    """``(cross_entropy(...), cross_entropy_grad(...))`` from one log-softmax and one check of the arguments.

    The same two numbers, bit for bit; :func:`dlcourse.train.train_step` calls it once per step.
    """
    terms = _cross_entropy_terms(logits, target, weight, label_smoothing)
    return _cross_entropy_value(terms), _cross_entropy_gradient(terms)


def _cross_entropy_gradient(terms: _CrossEntropyTerms) -> np.ndarray:
    probs = np.exp(terms.log_probs)
    if terms.coef is None:      # (p - onehot) / N: what the line below gives for one-hot coefficients
        probs[np.arange(terms.target.size), terms.target] -= 1.0
        g = probs / terms.total
    else:
        g = (terms.coef.sum(axis=1, keepdims=True) * probs - terms.coef) / terms.total
    n, c, *spatial = terms.shape
    return np.moveaxis(g.reshape(n, *spatial, c), -1, 1)


def _categorical_args(probs, target) -> tuple[np.ndarray, np.ndarray]:
    probs, target = _pair(probs, target, "probs", "target", ndim=2)
    _check_probabilities(probs, "probs")
    _check_probabilities(target, "target")
    _check_rows_sum_to_one(target, "target")
    return probs, target


def categorical_cross_entropy(probs, target, reduction: str = "mean"):
    r"""Cross-entropy of predicted probabilities against one-hot targets.

    Unit 2, "Classification losses".

    .. math:: L = -\frac{1}{N} \sum_{i=1}^N \sum_{c=1}^C y_{ic} \log \hat y_{ic}

    Parameters
    ----------
    probs : array_like, shape (N, C)
        Predicted probabilities (softmax outputs) in :math:`[0, 1]`. Rows are not required
        to sum to 1, so that a finite-difference check may nudge one entry.
    target : array_like, shape (N, C)
        One-hot rows (or soft labels), each summing to 1.
    reduction : {"mean", "sum", "none"}
        As PyTorch's: the mean over the rows (a float), their sum (a float), or the loss
        :math:`-\sum_c y_{ic} \log \hat y_{ic}` of every row (an array of shape (N,)).

    Notes
    -----
    The same value as :func:`cross_entropy` on the logits with the labels as indices
    ("sparse" categorical cross-entropy); only the label format differs. PyTorch has no
    single function for it: ``-(y * p.log()).sum(1).mean()``. Logs are clamped at
    :math:`-100`, as in :func:`binary_cross_entropy`, so :math:`\hat y = 0` stays finite.
    """
    probs, target = _categorical_args(probs, target)
    reduction = _check_reduction(reduction)
    if reduction == "none":
        return -np.sum(target * _clamped_log(probs), axis=1)
    if reduction == "mean":
        return float(-np.sum(target * _clamped_log(probs)) / probs.shape[0])
    return float(-np.sum(target * _clamped_log(probs)))


def categorical_cross_entropy_grad(probs, target, reduction: str = "mean") -> np.ndarray:
    r""":math:`-y / (N \max(\hat y, \epsilon))` with :math:`\epsilon = 10^{-12}`, shape (N, C).

    Without the division by :math:`N` for ``reduction="sum"`` or ``"none"``.
    """
    probs, target = _categorical_args(probs, target)
    reduction = _check_reduction(reduction)
    return _reduce_grad(-target / np.maximum(probs, GRAD_EPS), reduction, probs.shape[0])


def _kl_args(q_pred, p_true) -> tuple[np.ndarray, np.ndarray]:
    q, p = _pair(q_pred, p_true, "q_pred", "p_true", ndim=2)
    _check_probabilities(q, "q_pred")
    _check_probabilities(p, "p_true")
    _check_rows_sum_to_one(p, "p_true")
    return q, p


def kl_divergence(q_pred, p_true) -> float:
    r"""Kullback–Leibler divergence :math:`D_{KL}(P \,\|\, Q)`, averaged over the batch.

    Unit 2, "KL divergence".

    .. math:: L = \frac{1}{N} \sum_{i=1}^N \sum_{c=1}^C p_{ic} \log \frac{p_{ic}}{q_{ic}},
              \qquad 0 \log 0 = 0

    Parameters
    ----------
    q_pred : array_like, shape (N, C)
        The model's distributions :math:`Q` (probabilities, not logs).
    p_true : array_like, shape (N, C)
        The true distributions :math:`P`, each row summing to 1.

    Notes
    -----
    Equals ``F.kl_div(q.log(), p, reduction="batchmean")``: PyTorch takes the
    prediction as *log*-probabilities, this function takes probabilities. Where
    :math:`q = 0` but :math:`p > 0` the divergence is infinite; here
    :math:`\log q` is clamped at :math:`-100`, so the value stays finite (PyTorch
    returns ``inf``). Not symmetric: :math:`D_{KL}(P\|Q) \ne D_{KL}(Q\|P)`.
    """
    q, p = _kl_args(q_pred, p_true)
    terms = np.where(p > 0, p * (_clamped_log(p) - _clamped_log(q)), 0.0)
    return float(np.sum(terms) / q.shape[0])


def kl_divergence_grad(q_pred, p_true) -> np.ndarray:
    r""":math:`-p / (N \max(q, \epsilon))` with :math:`\epsilon = 10^{-12}`, shape (N, C)."""
    q, p = _kl_args(q_pred, p_true)
    return -p / np.maximum(q, GRAD_EPS) / q.shape[0]


# --------------------------------------------------------------------------- margin losses

def _hinge_args(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s, y = _pair(scores, labels, "scores", "labels")
    _check_values_in(y, "labels", (-1.0, 1.0), "-1 and +1 (map 0/1 labels with 2 * y - 1)")
    return s, y


def hinge(scores, labels) -> float:
    r"""Binary hinge loss of a max-margin classifier (Unit 2, "Hinge losses").

    .. math:: L = \frac{1}{N} \sum_i \max(0,\, 1 - y_i s_i), \qquad y_i \in \{-1, +1\}

    Parameters
    ----------
    scores : array_like, any shape
        Raw scores :math:`s` of a linear output layer (no sigmoid).
    labels : array_like, shape of ``scores``
        :math:`-1` or :math:`+1`.

    Notes
    -----
    Zero once a sample is correct with margin :math:`y s \ge 1`; the kink there takes
    gradient 0. PyTorch has no function with exactly this name:
    ``torch.clamp(1 - y * s, min=0).mean()``.
    """
    s, y = _hinge_args(scores, labels)
    return float(np.mean(np.maximum(0.0, 1.0 - y * s)))


def hinge_grad(scores, labels) -> np.ndarray:
    r""":math:`-y_i [1 - y_i s_i > 0] / N`, shape of ``scores``."""
    s, y = _hinge_args(scores, labels)
    return np.where(1.0 - y * s > 0, -y, 0.0) / s.size


def _multiclass_hinge_terms(scores, labels, squared) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N, C), labels (N,) and the margins max(0, s_j - s_y + 1) (0 at j = y)."""
    s = _array(scores, "scores", ndim=2)
    y = _class_indices(labels, "labels", (s.shape[0],), s.shape[1], f"scores {s.shape}")
    if not isinstance(squared, (bool, np.bool_)):
        raise TypeError(f"squared must be True or False, got {type(squared).__name__} {squared!r}")
    rows = np.arange(s.shape[0])
    margins = np.maximum(0.0, s - s[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    return margins, y


def multiclass_hinge(scores, labels, squared: bool = False) -> float:
    r"""Weston–Watkins multiclass hinge loss (Unit 2, "Hinge losses").

    .. math:: L = \frac{1}{N} \sum_i \sum_{j \ne y_i} \max(0,\, s_{ij} - s_{i y_i} + 1)^k,
              \qquad k = 2 \text{ if squared else } 1

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Raw class scores.
    labels : array_like of int, shape (N,)
        Class indices in :math:`[0, C)`.
    squared : bool
        Square each term (the squared hinge, smooth at the margin).

    Notes
    -----
    ``F.multi_margin_loss`` (``p=1`` or ``p=2``) divides the inner sum by :math:`C`;
    this loss is :math:`C` times it, as in the lecture notes.
    """
    margins, _ = _multiclass_hinge_terms(scores, labels, squared)
    terms = margins ** 2 if squared else margins
    return float(np.sum(terms) / margins.shape[0])


def multiclass_hinge_grad(scores, labels, squared: bool = False) -> np.ndarray:
    r"""Gradient with respect to ``scores``, shape (N, C).

    For :math:`j \ne y_i` it is :math:`[m_{ij} > 0]` (squared: :math:`2 m_{ij}`), divided by
    :math:`N`; the true class gets minus the sum of the others.
    """
    margins, y = _multiclass_hinge_terms(scores, labels, squared)
    g = 2.0 * margins if squared else (margins > 0).astype(np.float64)
    rows = np.arange(g.shape[0])
    g[rows, y] = -g.sum(axis=1)
    return g / g.shape[0]


def _margin_ranking_args(x1, x2, y, margin):
    x1, x2 = _pair(x1, x2, "x1", "x2")
    _, y = _pair(x1, y, "x1", "y")
    _check_values_in(y, "y", (-1.0, 1.0), "-1 and +1 (+1: x1 should rank higher)")
    margin = check_number(margin, "margin")
    return x1, x2, y, margin


def margin_ranking(x1, x2, y, margin: float = 0.0) -> float:
    r"""Margin ranking loss, as ``F.margin_ranking_loss`` (Unit 2, "Ranking and metric learning").

    .. math:: L = \frac{1}{N} \sum_i \max\big(0,\, -y_i (x_{1i} - x_{2i}) + m\big)

    Parameters
    ----------
    x1, x2 : array_like, same shape
        Scores of the two items of each pair.
    y : array_like, same shape
        :math:`+1` if ``x1`` should rank higher, :math:`-1` if ``x2`` should.
    margin : float
        The gap :math:`m` required between correctly ordered scores (default 0).
    """
    x1, x2, y, margin = _margin_ranking_args(x1, x2, y, margin)
    return float(np.mean(np.maximum(0.0, -y * (x1 - x2) + margin)))


def margin_ranking_grad(x1, x2, y, margin: float = 0.0) -> np.ndarray:
    r"""Gradient with respect to ``x1``: :math:`-y_i [\text{term}_i > 0] / N`."""
    x1, x2, y, margin = _margin_ranking_args(x1, x2, y, margin)
    return np.where(-y * (x1 - x2) + margin > 0, -y, 0.0) / x1.size


class _TripletTerms(NamedTuple):
    diff_pos: np.ndarray      # (N, D) anchor - positive + eps
    diff_neg: np.ndarray      # (N, D) anchor - negative + eps
    dist_pos: np.ndarray      # (N,)
    dist_neg: np.ndarray      # (N,)
    hinge: np.ndarray         # (N,) margin + dist_pos - dist_neg (before the max)
    shape: tuple              # the anchor's shape


def _triplet_terms(anchor, positive, negative, margin) -> _TripletTerms:
    a, p = _pair(anchor, positive, "anchor", "positive", ndim=(1, 2))
    _, n = _pair(anchor, negative, "anchor", "negative", ndim=(1, 2))
    margin = check_number(margin, "margin")
    a2, p2, n2 = (x.reshape(-1, a.shape[-1]) for x in (a, p, n))
    diff_pos, diff_neg = a2 - p2 + PAIRWISE_EPS, a2 - n2 + PAIRWISE_EPS
    dist_pos, dist_neg = np.linalg.norm(diff_pos, axis=1), np.linalg.norm(diff_neg, axis=1)
    return _TripletTerms(diff_pos, diff_neg, dist_pos, dist_neg, margin + dist_pos - dist_neg, a.shape)


def triplet_margin(anchor, positive, negative, margin: float = 1.0) -> float:
    r"""Triplet margin loss, as ``F.triplet_margin_loss`` with ``p=2, eps=1e-6``.

    Unit 2, "Ranking and metric learning".

    .. math:: L = \frac{1}{N} \sum_i \max\big(0,\, d(a_i, p_i) - d(a_i, n_i) + m\big),
              \qquad d(a, b) = \lVert a - b + \epsilon \rVert_2

    Parameters
    ----------
    anchor, positive, negative : array_like, shape (N, D) or (D,)
        Embeddings; ``positive`` should end up closer to ``anchor`` than ``negative``,
        by at least the ``margin``.
    margin : float
        :math:`m` (default 1.0).

    Notes
    -----
    Distances are Euclidean, not squared (FaceNet's formula squares them), and, as in
    ``F.pairwise_distance``, :math:`\epsilon = 10^{-6}` is added to the *difference*, which
    keeps the gradient defined when two embeddings coincide.
    """
    t = _triplet_terms(anchor, positive, negative, margin)
    return float(np.mean(np.maximum(0.0, t.hinge)))


def triplet_margin_grad(anchor, positive, negative, margin: float = 1.0) -> np.ndarray:
    r"""Gradient with respect to ``anchor``, shape of ``anchor``.

    .. math:: \frac{1}{N} [\text{term}_i > 0] \left(\frac{a_i - p_i + \epsilon}{d(a_i, p_i)}
              - \frac{a_i - n_i + \epsilon}{d(a_i, n_i)}\right)
    """
    t = _triplet_terms(anchor, positive, negative, margin)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_pos = np.where(t.dist_pos[:, None] > 0, t.diff_pos / t.dist_pos[:, None], 0.0)
        unit_neg = np.where(t.dist_neg[:, None] > 0, t.diff_neg / t.dist_neg[:, None], 0.0)
    active = (t.hinge > 0)[:, None]
    g = np.where(active, unit_pos - unit_neg, 0.0) / t.hinge.size
    return g.reshape(t.shape)


def _contrastive_args(distance, y_similar, margin):
    d, y = _pair(distance, y_similar, "distance", "y_similar")
    if np.any(d < 0):
        raise ValueError(f"distance must be non-negative, got {d[_index(d < 0)]} at index {_index(d < 0)}")
    _check_values_in(y, "y_similar", (0.0, 1.0), "0 (dissimilar pair) and 1 (similar pair)")
    margin = check_number(margin, "margin", low=0.0)
    return d, y, margin


def contrastive(distance, y_similar, margin: float = 1.0) -> float:
    r"""Contrastive loss of a Siamese network (Unit 2, "Ranking and metric learning").

    .. math:: L = \frac{1}{2N} \sum_i \big[y_i d_i^2 + (1 - y_i) \max(0,\, m - d_i)^2\big]

    Parameters
    ----------
    distance : array_like, any shape
        Non-negative distances :math:`d` between the two embeddings of each pair.
    y_similar : array_like, shape of ``distance``
        1 for a similar pair (pulled together), 0 for a dissimilar one (pushed out to
        at least the margin).
    margin : float >= 0
        :math:`m` (default 1.0).

    Notes
    -----
    The factor :math:`\frac12` belongs to the formula; worked examples that report
    :math:`d^2` for a similar pair have dropped it.
    """
    d, y, margin = _contrastive_args(distance, y_similar, margin)
    gap = np.maximum(0.0, margin - d)
    return float(np.mean(y * d * d + (1.0 - y) * gap * gap) / 2.0)


def contrastive_grad(distance, y_similar, margin: float = 1.0) -> np.ndarray:
    r""":math:`\big(y_i d_i - (1 - y_i)\max(0, m - d_i)\big)/N`, shape of ``distance``."""
    d, y, margin = _contrastive_args(distance, y_similar, margin)
    return (y * d - (1.0 - y) * np.maximum(0.0, margin - d)) / d.size


# --------------------------------------------------------------------------- registry

LOSS_FUNCTIONS = {
    "mse": (mse, mse_grad),
    "mae": (mae, mae_grad),
    "huber": (huber, huber_grad),
    "binary_cross_entropy": (binary_cross_entropy, binary_cross_entropy_grad),
    "binary_cross_entropy_with_logits": (binary_cross_entropy_with_logits,
                                         binary_cross_entropy_with_logits_grad),
    "cross_entropy": (cross_entropy, cross_entropy_grad),
    "categorical_cross_entropy": (categorical_cross_entropy, categorical_cross_entropy_grad),
    "kl_divergence": (kl_divergence, kl_divergence_grad),
    "hinge": (hinge, hinge_grad),
    "multiclass_hinge": (multiclass_hinge, multiclass_hinge_grad),
    "margin_ranking": (margin_ranking, margin_ranking_grad),
    "triplet_margin": (triplet_margin, triplet_margin_grad),
    "contrastive": (contrastive, contrastive_grad),
}
"""Every loss by name: ``LOSS_FUNCTIONS[name] == (loss, loss_grad)``."""


def get_loss(name: str):
    """Return ``(loss, loss_grad)`` for a loss name such as ``"cross_entropy"``."""
    if name not in LOSS_FUNCTIONS:
        raise ValueError(f"loss must be one of {sorted(LOSS_FUNCTIONS)}, got {name!r}")
    return LOSS_FUNCTIONS[name]
