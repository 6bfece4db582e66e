r"""Activation functions and their derivatives (Unit 1, "Activation functions").

Every function takes an array ``x`` of any shape and works elementwise (except
:func:`softmax`). They are registered by name in :data:`ACTIVATIONS` and
:data:`DERIVATIVES`, so that layers, widgets and tests can loop over them.

All are overflow-safe: ``sigmoid(-1000)`` is 0, not a warning and a NaN.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_number

__all__ = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "softplus", "softmax", "log_softmax",
           "linear_derivative", "sigmoid_derivative", "tanh_derivative", "relu_derivative",
           "leaky_relu_derivative", "elu_derivative", "softplus_derivative", "softmax_backward",
           "ACTIVATIONS", "DERIVATIVES", "get_activation"]


def linear(x):
    r"""$f(x) = x$ (the identity, used by a regression output)."""
    return as_float_array(x, "x").copy()


def linear_derivative(x):
    r"""$f'(x) = 1$."""
    return np.ones_like(as_float_array(x, "x"))


def sigmoid(x):
    r"""$\sigma(x) = 1 / (1 + e^{-x})$, computed without overflow for any $x$."""
    x = as_float_array(x, "x")
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def sigmoid_derivative(x):
    r"""$\sigma'(x) = \sigma(x)(1 - \sigma(x))$, at most $1/4$ (at $x = 0$)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    r"""$\tanh(x) = 2\sigma(2x) - 1$, zero-centred, in $(-1, 1)$."""
    return np.tanh(as_float_array(x, "x"))


def tanh_derivative(x):
    r"""$\tanh'(x) = 1 - \tanh^2(x)$, at most 1 (at $x = 0$)."""
    t = tanh(x)
    return 1.0 - t * t


def relu(x):
    r"""$\mathrm{ReLU}(x) = \max(0, x)$."""
    return np.maximum(as_float_array(x, "x"), 0.0)


def relu_derivative(x):
    r"""$1$ for $x > 0$, else $0$ (we take 0 at the kink, as PyTorch does)."""
    return (as_float_array(x, "x") > 0).astype(np.float64)


def leaky_relu(x, negative_slope: float = 0.01):
    r"""$x$ for $x > 0$, else $a x$ with a small slope $a$ (``negative_slope``)."""
    a = check_number(negative_slope, "negative_slope")
    x = as_float_array(x, "x")
    return np.where(x > 0, x, a * x)


def leaky_relu_derivative(x, negative_slope: float = 0.01):
    r"""$1$ for $x > 0$, else $a$."""
    a = check_number(negative_slope, "negative_slope")
    return np.where(as_float_array(x, "x") > 0, 1.0, a)


def prelu(x, weight: float = 0.25):
    r"""Parametric ReLU: leaky ReLU whose slope ``weight`` is learned (torch's default 0.25)."""
    return leaky_relu(x, weight)


def elu(x, alpha: float = 1.0):
    r"""$x$ for $x > 0$, else $\alpha(e^x - 1)$: smooth, with negative outputs near $-\alpha$."""
    a = check_number(alpha, "alpha")
    x = as_float_array(x, "x")
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def elu_derivative(x, alpha: float = 1.0):
    r"""$1$ for $x > 0$, else $\alpha e^x$."""
    a = check_number(alpha, "alpha")
    x = as_float_array(x, "x")
    return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0)))


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    r"""$\frac{1}{\beta}\log(1 + e^{\beta x})$, a smooth ReLU; linear above ``threshold`` as in torch."""
    b = check_number(beta, "beta", low=0.0, low_open=True)
    x = as_float_array(x, "x")
    bx = b * x
    return np.where(bx > threshold, x, np.logaddexp(0.0, bx) / b)


def softplus_derivative(x, beta: float = 1.0, threshold: float = 20.0):
    r"""$\sigma(\beta x)$ (1 above ``threshold``)."""
    b = check_number(beta, "beta", low=0.0, low_open=True)
    x = as_float_array(x, "x")
    return np.where(b * x > threshold, 1.0, sigmoid(b * x))


def softmax(x, axis: int = -1):
    r"""$\mathrm{softmax}(z)_i = e^{z_i - \max z} / \sum_j e^{z_j - \max z}$ along ``axis``.

    Subtracting the maximum changes nothing mathematically and prevents overflow.
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension for softmax, got a scalar")
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1):
    r"""$\log \mathrm{softmax}(z)_i = (z_i - \max z) - \log \sum_j e^{z_j - \max z}$ along ``axis``
    (``torch.log_softmax``).

    The log-sum-exp trick: computed this way, a very negative log-probability stays finite where
    ``np.log(softmax(z))`` would give ``-inf``.
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension for log_softmax, got a scalar")
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_backward(grad_out, s, axis: int = -1):
    r"""Gradient through softmax: $\partial L/\partial z = s \odot (g - \langle g, s \rangle)$.

    ``s`` is the softmax output and ``grad_out`` the gradient of the loss w.r.t. ``s``.
    """
    g = as_float_array(grad_out, "grad_out")
    s = as_float_array(s, "s")
    if g.shape != s.shape:
        raise ValueError(f"grad_out and s must have the same shape, got {g.shape} and {s.shape}")
    return s * (g - np.sum(g * s, axis=axis, keepdims=True))


ACTIVATIONS = {
    "linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu,
    "leaky_relu": leaky_relu, "elu": elu, "softplus": softplus,
}
DERIVATIVES = {
    "linear": linear_derivative, "sigmoid": sigmoid_derivative, "tanh": tanh_derivative,
    "relu": relu_derivative, "leaky_relu": leaky_relu_derivative, "elu": elu_derivative,
    "softplus": softplus_derivative,
}


def get_activation(name: str):
    """Return ``(f, f_prime)`` for an activation name such as ``"relu"``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name], DERIVATIVES[name]
