r"""Shallow models seen as neural networks (Unit 1, "Shallow models").

Each is one layer of weights with a particular output and loss: least squares
(linear + squared error), the perceptron (sign + its update rule), Widrow–Hoff
(linear + squared error, one sample at a time), logistic regression
(sigmoid + log loss), softmax regression (softmax + cross-entropy).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_number, check_positive_int
from .losses import (binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_grad, cross_entropy,
                     cross_entropy_grad)


def least_squares(X, y) -> tuple[np.ndarray, float]:
    r"""Weights and bias minimising :math:`\|Xw + b - y\|^2`: the normal equations
    :math:`w = (X^\top X)^{-1} X^\top y` on ``X`` with a column of ones appended.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    Xb = np.c_[X, np.ones(len(X))]
    theta = np.linalg.solve(Xb.T @ Xb, Xb.T @ y)
    return theta[:-1], float(theta[-1])


def slope_intercept(x, y) -> tuple[float, float]:
    r"""The one-input case in closed form:
    :math:`m = \frac{\sum (x-\bar x)(y-\bar y)}{\sum (x-\bar x)^2}`, :math:`c = \bar y - m\bar x`."""
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", ndim=1)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    dx = x - x.mean()
    m = float(dx @ (y - y.mean()) / (dx @ dx))
    return m, float(y.mean() - m * x.mean())


def perceptron_update(w, b, x, y, lr=1.0):
    r"""One perceptron step for a label :math:`y \in \{-1, +1\}`.

    If the point is misclassified, :math:`y(w\cdot x + b) \le 0`, move towards it:
    :math:`w \leftarrow w + \eta y x`, :math:`b \leftarrow b + \eta y`. Otherwise nothing changes.
    Returns new ``(w, b)``; the inputs are not modified.
    """
    w = as_float_array(w, "w", ndim=1)
    x = as_float_array(x, "x", ndim=1)
    if y not in (-1, 1):
        raise ValueError(f"y must be -1 or +1, got {y}")
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, float(b + lr * y)
    return w.copy(), float(b)


class PerceptronRun(NamedTuple):
    w: np.ndarray
    b: float
    errors: list


def train_perceptron(X, y, epochs: int = 20, lr: float = 1.0) -> PerceptronRun:
    """Sweep the data ``epochs`` times; ``errors`` counts the mistakes in each sweep."""
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    w, b, errors = np.zeros(X.shape[1]), 0.0, []
    for _ in range(check_positive_int(epochs, "epochs")):
        mistakes = 0
        for xi, yi in zip(X, y):
            if yi * (w @ xi + b) <= 0:
                mistakes += 1
            w, b = perceptron_update(w, b, xi, int(yi), lr)
        errors.append(mistakes)
    return PerceptronRun(w, b, errors)


def delta_rule_update(w, b, x, y, lr=0.01):
    r"""Widrow–Hoff (LMS): :math:`w \leftarrow w + \eta (y - \hat y) x` with :math:`\hat y = w\cdot x + b`."""
    w = as_float_array(w, "w", ndim=1)
    x = as_float_array(x, "x", ndim=1)
    err = float(y - (w @ x + b))
    return w + lr * err * x, float(b + lr * err)


def logistic_regression(X, y, lr: float = 0.5, epochs: int = 200):
    r"""Gradient descent on the mean log loss of :math:`\sigma(Xw + b)` for labels in {0, 1}.

    The gradient is :math:`X^\top(\hat y - y)/N` — the same :math:`\hat y - y` as softmax
    regression. Returns ``(w, b, losses)``. The loss and its gradient with respect to the logits
    are :func:`dlcourse.losses.binary_cross_entropy_with_logits` and its ``_grad``; the update stays
    written out, outside :func:`dlcourse.train.fit` (issue 14): Unit 1 teaches it as this formula.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    w, b, losses = np.zeros(X.shape[1]), 0.0, []
    for _ in range(check_positive_int(epochs, "epochs")):
        z = X @ w + b
        losses.append(binary_cross_entropy_with_logits(z, y))
        g = binary_cross_entropy_with_logits_grad(z, y)
        w, b = w - lr * X.T @ g, b - lr * g.sum()
    return w, b, losses


def softmax_regression(X, y, n_classes: int, lr: float = 0.5, epochs: int = 200):
    r"""Gradient descent on cross-entropy of :math:`\mathrm{softmax}(XW^\top + b)`; gradient
    w.r.t. the logits :math:`(\hat Y - Y)/N`. Returns ``(W (C, D), b (C,), losses)``.

    The loss and that gradient are :func:`dlcourse.losses.cross_entropy` and
    :func:`~dlcourse.losses.cross_entropy_grad`; the update stays written out, outside
    :func:`dlcourse.train.fit` (issue 14): Unit 1 teaches it as this formula."""
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y, dtype=int)
    W, b, losses = np.zeros((n_classes, X.shape[1])), np.zeros(n_classes), []
    for _ in range(check_positive_int(epochs, "epochs")):
        Z = X @ W.T + b
        losses.append(cross_entropy(Z, y))
        G = cross_entropy_grad(Z, y)
        W, b = W - lr * G.T @ X, b - lr * G.sum(axis=0)
    return W, b, losses


def hierarchical_softmax_cost(vocab_size: int) -> tuple[int, int]:
    """Dot products per prediction: ``V`` for a flat softmax, ``ceil(log2 V)`` down a balanced binary tree."""
    v = check_positive_int(vocab_size, "vocab_size", minimum=2)
    return v, math.ceil(math.log2(v))
