r"""Learning-rate schedules as closed-form functions of the epoch (Unit 3, "Learning-rate schedules").

Each function returns the learning rate to use *during* ``epoch`` (counted from 0, as
``scheduler.last_epoch`` in torch), for an ``int`` epoch (a ``float`` comes back) or an
array of epochs (an array comes back, handy for plotting)::

    epochs = np.arange(100)
    plt.plot(epochs, cosine_annealing(0.1, T_max=100, epoch=epochs))

Torch's schedulers change ``optimizer.param_groups[i]["lr"]`` when ``scheduler.step()`` is
called; here a training loop sets ``opt.lr = step_decay(0.1, 30, 0.1, epoch)`` instead.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_number, check_positive_int

__all__ = ["inverse_time_decay", "step_decay", "exponential_decay", "cosine_annealing",
           "linear_warmup", "SCHEDULES"]


def _epochs(epoch):
    """``epoch`` as a float array of non-negative numbers, and whether it was a scalar."""
    if isinstance(epoch, (bool, str, bytes)) or epoch is None:
        raise TypeError(f"epoch must be a non-negative number or an array of them, got {epoch!r}")
    try:
        arr = np.asarray(epoch, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"epoch must be a non-negative number or an array of them, got {epoch!r}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"epoch must be >= 0 and finite (epochs count from 0), got {epoch!r}")
    return arr, arr.ndim == 0


def _out(values: np.ndarray, scalar: bool):
    return float(values) if scalar else values


def inverse_time_decay(lr0: float, decay_rate: float, epoch):
    r"""Inverse-time decay, the lecture notes' schedule.

    .. math:: \alpha_t = \frac{\alpha_0}{1 + k\, t}

    Parameters
    ----------
    lr0 : float
        Initial learning rate :math:`\alpha_0 > 0`.
    decay_rate : float
        Decay rate :math:`k \ge 0`.
    epoch : int, float or array
        Epoch(s) :math:`t \ge 0`.

    Returns
    -------
    float or numpy.ndarray
        The learning rate(s), shaped like ``epoch``.

    Notes
    -----
    Adagrad's ``lr_decay`` is this schedule applied per step (with :math:`t` = steps - 1).

    Examples
    --------
    The lecture notes' table (:math:`\alpha_0 = 0.2`, :math:`k = 1`):

    >>> [round(inverse_time_decay(0.2, 1.0, t), 4) for t in [1, 2, 3, 4]]
    [0.1, 0.0667, 0.05, 0.04]
    """
    lr0 = check_number(lr0, "lr0", low=0.0)
    k = check_number(decay_rate, "decay_rate", low=0.0)
    t, scalar = _epochs(epoch)
    return _out(lr0 / (1.0 + k * t), scalar)


def step_decay(lr0: float, step_size: int, gamma: float, epoch):
    r"""Step decay, as ``torch.optim.lr_scheduler.StepLR``: multiply by ``gamma`` every ``step_size`` epochs.

    .. math:: \alpha_t = \alpha_0\, \gamma^{\lfloor t / s \rfloor}

    Parameters
    ----------
    lr0 : float
        Initial learning rate.
    step_size : int
        Period :math:`s \ge 1` in epochs.
    gamma : float
        Factor :math:`\gamma` applied at the end of each period (torch's default is 0.1).
    epoch : int or array of int
        Epoch(s) :math:`t \ge 0`.
    """
    lr0 = check_number(lr0, "lr0", low=0.0)
    s = check_positive_int(step_size, "step_size")
    gamma = check_number(gamma, "gamma", low=0.0)
    t, scalar = _epochs(epoch)
    return _out(lr0 * gamma ** np.floor(t / s), scalar)


def exponential_decay(lr0: float, gamma: float, epoch):
    r"""Exponential decay, as ``torch.optim.lr_scheduler.ExponentialLR``.

    .. math:: \alpha_t = \alpha_0\, \gamma^{t}

    Parameters
    ----------
    lr0 : float
        Initial learning rate.
    gamma : float
        Factor per epoch, usually just below 1 (0.95 halves the rate in about 14 epochs).
    epoch : int, float or array
        Epoch(s) :math:`t \ge 0`.
    """
    lr0 = check_number(lr0, "lr0", low=0.0)
    gamma = check_number(gamma, "gamma", low=0.0)
    t, scalar = _epochs(epoch)
    return _out(lr0 * gamma ** t, scalar)


def cosine_annealing(lr0: float, T_max: int, epoch, eta_min: float = 0.0):
    r"""Cosine annealing, the closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    .. math:: \alpha_t = \eta_{\min} + \tfrac12(\alpha_0 - \eta_{\min})\bigl(1 + \cos(\pi t / T_{\max})\bigr)

    Parameters
    ----------
    lr0 : float
        Initial (largest) learning rate.
    T_max : int
        Epochs from :math:`\alpha_0` down to :math:`\eta_{\min}`.
    epoch : int, float or array
        Epoch(s) :math:`t \ge 0`.
    eta_min : float
        Smallest learning rate (default 0).

    Notes
    -----
    Past :math:`T_{\max}` the formula (and torch's scheduler) climbs back up: the cosine
    is periodic with period :math:`2T_{\max}`. Torch computes the rate recursively from
    the previous one; the values agree with this closed form to round-off.
    """
    lr0 = check_number(lr0, "lr0", low=0.0)
    T = check_positive_int(T_max, "T_max")
    eta_min = check_number(eta_min, "eta_min", low=0.0)
    t, scalar = _epochs(epoch)
    return _out(eta_min + (lr0 - eta_min) * (1.0 + np.cos(np.pi * t / T)) / 2.0, scalar)


def linear_warmup(lr0: float, warmup_epochs: int, epoch):
    r"""Linear warm-up from :math:`\alpha_0 / W` to :math:`\alpha_0` over ``warmup_epochs``, then constant.

    .. math:: \alpha_t = \alpha_0 \min\!\left(1, \frac{t + 1}{W}\right)

    Parameters
    ----------
    lr0 : float
        Learning rate reached at the end of the warm-up.
    warmup_epochs : int
        Length :math:`W \ge 1` of the warm-up; epoch :math:`W - 1` is the first at :math:`\alpha_0`.
    epoch : int, float or array
        Epoch(s) :math:`t \ge 0`.

    Notes
    -----
    The same as ``torch.optim.lr_scheduler.LinearLR(opt, start_factor=1/W,
    total_iters=W-1)``. Warm-up keeps the first steps of Adam (whose second-moment
    estimate is still poor) and of large-batch SGD small; combine it with a decay by
    multiplying: ``linear_warmup(1, W, t) * cosine_annealing(lr0, T, t)``.
    """
    lr0 = check_number(lr0, "lr0", low=0.0)
    W = check_positive_int(warmup_epochs, "warmup_epochs")
    t, scalar = _epochs(epoch)
    return _out(lr0 * np.minimum(1.0, (t + 1.0) / W), scalar)


SCHEDULES = {
    "inverse_time_decay": inverse_time_decay, "step_decay": step_decay,
    "exponential_decay": exponential_decay, "cosine_annealing": cosine_annealing,
    "linear_warmup": linear_warmup,
}
