r"""Early stopping with a copy of the best weights (Unit 4, "Early stopping")."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from .._validate import check_choice, check_number, check_positive_int

__all__ = ["EarlyStopping"]


def _param_arrays(params) -> list[np.ndarray]:
    """The arrays to copy and restore in place: from a Module, a dict or a list of arrays."""
    if hasattr(params, "parameters") and callable(params.parameters):
        arrays = params.parameters()
    elif isinstance(params, Mapping):
        arrays = list(params.values())
    elif isinstance(params, (list, tuple)):
        arrays = list(params)
    else:
        raise TypeError("params must be a dlcourse Module, a dict of arrays or a list of arrays, "
                        f"got {type(params).__name__}")
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"params must hold numpy arrays (restored in place), item {i} is {type(a).__name__}")
    return arrays


class EarlyStopping:
    r"""Stop training when a validation metric has stopped improving.

    Call :meth:`step` once per epoch with the validation value (and the model's
    parameters); it returns True when training should stop, that is after
    ``patience`` consecutive epochs without an improvement. An improvement is

    .. math::
        v < v_{\text{best}} - \delta \;\; (\text{mode} = \text{"min"}), \qquad
        v > v_{\text{best}} + \delta \;\; (\text{mode} = \text{"max"})

    with :math:`\delta` = ``min_delta``. A NaN value never improves.

    Parameters
    ----------
    patience : int
        Number of epochs without improvement tolerated before stopping (>= 1).
    min_delta : float
        Smallest change that counts as an improvement (default 0).
    mode : {"min", "max"}
        ``"min"`` for a loss, ``"max"`` for an accuracy.
    restore_best : bool
        If True, the best parameters are copied back into ``params`` when
        :meth:`step` returns True. Either way the best copy is kept and
        :meth:`restore` puts it back on request.

    Attributes
    ----------
    best : float
        Best value so far (``inf`` or ``-inf`` before the first step).
    best_epoch : int
        Epoch (0-based count of :meth:`step` calls) of the best value, -1 before any.
    num_bad_epochs : int
        Consecutive epochs without improvement (torch's ``ReduceLROnPlateau`` name).
    epoch : int
        Number of :meth:`step` calls so far.
    should_stop : bool
        Whether :meth:`step` has returned True.

    Notes
    -----
    Keras's ``EarlyStopping(patience, min_delta, mode, restore_best_weights)`` counts the
    same way. Early stopping acts like an L2 penalty whose strength shrinks as training
    goes on (Goodfellow et al., *Deep Learning*, Section 7.8).
    """

    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min", restore_best: bool = True):
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.mode = check_choice(mode, {"min", "max"}, "mode")
        self.restore_best = bool(restore_best)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.num_bad_epochs = 0
        self.epoch = 0
        self.should_stop = False
        self.best_params: list[np.ndarray] | None = None

    def is_improvement(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, params=None) -> bool:
        """Record this epoch's ``value``; keep a copy of ``params`` if it is the best; return stop?"""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"value must be a real number (the validation metric), got {type(value).__name__}")
        value = float(value)
        arrays = None if params is None else _param_arrays(params)
        if self.is_improvement(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, self.epoch, 0
            if arrays is not None:
                self.best_params = [a.copy() for a in arrays]
        else:
            self.num_bad_epochs += 1
        self.epoch += 1
        self.should_stop = self.num_bad_epochs >= self.patience
        if self.should_stop and self.restore_best and arrays is not None and self.best_params is not None:
            self.restore(params)
        return self.should_stop

    def restore(self, params) -> None:
        """Copy the best parameters back into ``params`` in place."""
        if self.best_params is None:
            raise RuntimeError("no best parameters to restore: pass params to step(value, params) first")
        arrays = _param_arrays(params)
        if len(arrays) != len(self.best_params):
            raise ValueError(f"params must hold {len(self.best_params)} arrays like the ones given to step, "
                             f"got {len(arrays)}")
        for i, (a, b) in enumerate(zip(arrays, self.best_params)):
            if a.shape != b.shape:
                raise ValueError(f"params item {i} must have shape {b.shape}, got {a.shape}")
            a[...] = b

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, mode={self.mode!r}, "
                f"best={self.best}, best_epoch={self.best_epoch}, num_bad_epochs={self.num_bad_epochs})")
