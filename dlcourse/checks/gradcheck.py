"""Numerical gradients and the relative error used to compare gradients.

Unit 1, "Checking a gradient". Every backward pass in the package is tested
against these central differences.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._validate import as_float_array, check_number


def rel_error(x, y, eps: float = 1e-12) -> float:
    r"""Largest elementwise relative error between two arrays.

    .. math:: \max_i \frac{|x_i - y_i|}{\max(\epsilon, |x_i| + |y_i|)}

    ``rel_error`` below about ``1e-7`` means two float64 gradients agree.
    """
    x = as_float_array(x, "x")
    y = as_float_array(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(eps, np.abs(x) + np.abs(y))))


def numerical_gradient(f: Callable[[np.ndarray], float], x, h: float = 1e-5) -> np.ndarray:
    r"""Central-difference gradient of a scalar function ``f`` at ``x``.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    ``x`` is not modified. Costs two calls of ``f`` per element of ``x``.
    """
    x = np.array(as_float_array(x, "x"), copy=True)
    h = check_number(h, "h", low=0.0, low_open=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = float(f(x))
        flat[i] = old - h
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def numerical_jacobian_vector(f: Callable[[np.ndarray], np.ndarray], x, v, h: float = 1e-5) -> np.ndarray:
    r"""Gradient of :math:`\langle f(x), v \rangle` with respect to ``x``.

    This is what a layer's ``backward(v)`` must return for the output gradient ``v``.
    """
    v = as_float_array(v, "v")

    def inner(z):
        out = np.asarray(f(z), dtype=np.float64)
        if out.shape != v.shape:  # broadcasting would silently check the wrong thing
            raise ValueError(f"v must have the shape of f(x) {out.shape}, got {v.shape}")
        return float(np.sum(out * v))

    return numerical_gradient(inner, x, h=h)


def gradcheck(f: Callable[[np.ndarray], float], x, analytic, h: float = 1e-5,
              tol: float = 1e-6, name: str = "x") -> float:
    """Compare an analytic gradient with central differences; raise if they disagree.

    Returns the relative error. The error message names the element that
    disagrees most, with the expected (numerical) and the received (analytic) value.
    """
    analytic = as_float_array(analytic, "analytic")
    numeric = numerical_gradient(f, x, h=h)
    if analytic.shape != numeric.shape:
        raise ValueError(f"gradient of {name} must have shape {numeric.shape}, got {analytic.shape}")
    err = rel_error(analytic, numeric)
    if not err <= tol:  # also catches NaN, which compares False with everything
        diff = np.abs(analytic - numeric) / np.maximum(1e-12, np.abs(analytic) + np.abs(numeric))
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        raise AssertionError(
            f"gradient of {name} is wrong at index {idx}: expected {numeric[idx]:.8g} "
            f"(central differences), got {analytic[idx]:.8g}; relative error {err:.2e} > {tol:.0e}"
        )
    return err
