r"""Small tools for hyperparameter search (Unit 3, "Hyperparameter tuning").

- :func:`ema` smooths a noisy sequence (a loss per mini-batch) with a bias-corrected
  exponential moving average, the correction Adam applies to its moments;
- :func:`log_uniform` samples a hyperparameter whose scale matters (a learning rate) for
  random search;
- :func:`lr_range` and :func:`suggest_lr` are the two halves of the learning-rate range
  test (Smith, 2017): raise the learning rate geometrically over a short run, then pick a
  rate from the smoothed loss.

The training itself is the caller's: any loop that can set ``opt.lr`` between steps.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_rng, check_number, check_positive_int

__all__ = ["ema", "log_uniform", "lr_range", "suggest_lr"]


def ema(values, beta: float = 0.98) -> np.ndarray:
    r"""Bias-corrected exponential moving average of ``values``.

    .. math::
        a_0 = 0, \qquad a_t = \beta a_{t-1} + (1 - \beta) x_t, \qquad \hat a_t = \frac{a_t}{1 - \beta^t}

    Without the division, the first averages are pulled towards the starting 0: with
    :math:`\beta = 0.98` the first one is :math:`0.02\,x_1`. Dividing by :math:`1 - \beta^t`
    (the total weight given to the :math:`x`'s) removes that bias; Adam does the same to
    :math:`m` and :math:`v`.

    Parameters
    ----------
    values : array of shape (n,)
    beta : float
        Weight of the past, :math:`0 \le \beta < 1`.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    x = as_float_array(values, "values", ndim=1)
    beta = check_number(beta, "beta", low=0.0)
    if beta >= 1.0:
        raise ValueError(f"beta must be < 1 (the weight of the past), got {beta}")
    out, avg = np.empty(len(x)), 0.0
    for t, v in enumerate(x, start=1):
        avg = beta * avg + (1.0 - beta) * v
        out[t - 1] = avg / (1.0 - beta ** t)
    return out


def log_uniform(low: float, high: float, size=None, rng=None):
    r"""Samples whose logarithm is uniform on :math:`[\log \text{low}, \log \text{high}]`.

    A learning rate between 1e-4 and 1 sampled uniformly would be above 0.1 nine times in
    ten; sampled log-uniformly, each decade gets the same share.
    """
    low = check_number(low, "low", low=0.0, low_open=True)
    high = check_number(high, "high", low=low)
    return np.exp(as_rng(rng).uniform(np.log(low), np.log(high), size))


def lr_range(lr_min: float = 1e-4, lr_max: float = 10.0, steps: int = 100) -> np.ndarray:
    r"""The learning rates of a range test: ``steps`` values growing geometrically from ``lr_min`` to ``lr_max``.

    .. math:: \eta_k = \eta_{\min} \left(\frac{\eta_{\max}}{\eta_{\min}}\right)^{k/(K-1)}, \quad k = 0 .. K-1
    """
    lr_min = check_number(lr_min, "lr_min", low=0.0, low_open=True)
    lr_max = check_number(lr_max, "lr_max", low=lr_min)
    steps = check_positive_int(steps, "steps", minimum=2)
    return np.geomspace(lr_min, lr_max, steps)


def suggest_lr(lrs, smoothed_losses) -> tuple[float, float]:
    r"""Two readings of a range test: ``(steepest, minimum / 10)``.

    ``steepest`` is the learning rate where the smoothed loss falls fastest per decade of
    learning rate (the most negative :math:`d\,\text{loss} / d\log\eta`), before the
    minimum; ``minimum / 10`` is a tenth of the rate at the lowest smoothed loss, a common
    rule of thumb (the loss is already about to blow up at the minimum).

    Parameters
    ----------
    lrs : array of shape (n,)
        Increasing learning rates, one per step.
    smoothed_losses : array of shape (n,)
        The smoothed loss after each step (non-finite values end the useful part).
    """
    lrs = as_float_array(lrs, "lrs", ndim=1)
    loss = as_float_array(smoothed_losses, "smoothed_losses", ndim=1)
    if lrs.shape != loss.shape or len(lrs) < 3:
        raise ValueError(f"lrs and smoothed_losses must have the same length >= 3, got {lrs.shape} and {loss.shape}")
    finite = np.flatnonzero(~np.isfinite(loss))
    end = finite[0] if finite.size else len(loss)
    if end < 3:
        raise ValueError("the loss is not finite after the first two steps: lower lr_min")
    best = int(np.argmin(loss[:end]))
    slope = np.gradient(loss[:best + 1], np.log(lrs[:best + 1])) if best >= 2 else np.zeros(1)
    return float(lrs[int(np.argmin(slope))]), float(lrs[best] / 10)
