r"""The interface every optimizer shares (Unit 3, "Gradient descent and its variants").

An optimizer holds a list of parameter arrays and changes them *in place*::

    w, b = layer.parameters()          # float64 arrays
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    for epoch in range(100):
        grads = compute_gradients(w, b)  # a list of arrays shaped like the parameters
        opt.step(grads)                  # w and b now hold the new values

Unlike ``torch.optim``, the gradients are passed to ``step`` (NumPy arrays have no
``.grad``), so there is no ``zero_grad``. Hyperparameters are plain attributes: a
schedule sets ``opt.lr = ...`` between steps, as ``group["lr"] = ...`` in torch.
Per-parameter state lives in ``opt.state[i]`` (a dict) under torch's keys.

Writing your own optimizer for the race
---------------------------------------
Subclass :class:`Optimizer`, call ``super().__init__(params, defaults)`` with a dict of
hyperparameters, and implement ``update(i, param, grad, state)``, which changes
``param`` in place (``param -= ...``) and keeps whatever it needs in the dict ``state``::

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def update(self, i, param, grad, state):
            param -= self.lr * np.sign(grad)

Override ``step(grads)`` instead if the update couples the parameters (as clipping the
total norm does).
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

__all__ = ["Optimizer"]


def _check_params(params) -> list[np.ndarray]:
    """Return ``params`` as a list of float arrays that can be updated in place."""
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
        raise TypeError("params must be a list of float arrays (updated in place), got "
                        f"{type(params).__name__}; wrap a single array in a list: [w]")
    if len(params) == 0:
        raise ValueError("optimizer got an empty parameter list")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"params[{i}] must be a numpy array (updated in place), got "
                            f"{type(p).__name__}; use np.array(..., dtype=float)")
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"params[{i}] must have a floating dtype to be updated in place, got "
                            f"{p.dtype}; convert it with p.astype(float)")
    ids = [id(p) for p in params]
    if len(set(ids)) != len(ids):
        raise ValueError("params contains the same array twice; pass each parameter once")
    return list(params)


def _check_hyper(value, name: str):
    """Type-check a hyperparameter (a real number); the range checks are torch's, in ``__init__``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return value


class Optimizer:
    r"""Base class of the optimizers in :mod:`dlcourse.optim`.

    Parameters
    ----------
    params : list of numpy.ndarray
        The parameters, float arrays of any shapes, updated in place by :meth:`step`.
    defaults : dict
        Hyperparameters by name; each becomes an attribute (``self.lr``), which may be
        changed between steps (a schedule sets ``opt.lr``).

    Attributes
    ----------
    params : list of numpy.ndarray
    state : list of dict
        ``state[i]`` holds what the update of ``params[i]`` carries from step to step
        (torch's keys: ``step``, ``momentum_buffer``, ``exp_avg``, ...).
    defaults : dict
        The hyperparameters given to the constructor.

    Notes
    -----
    Subclasses implement ``update(i, param, grad, state)``, or override :meth:`step`.
    """

    def __init__(self, params, defaults: dict):
        self.params = _check_params(params)
        self.defaults = dict(defaults)
        for name, value in self.defaults.items():
            setattr(self, name, value)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything carried between steps (momentum, averages, step counts)."""
        self.state = [{} for _ in self.params]

    @property
    def hyperparameters(self) -> dict:
        """The current hyperparameters (``lr`` as set by a schedule, not the initial one)."""
        return {name: getattr(self, name) for name in self.defaults}

    def _check_grads(self, grads) -> list[np.ndarray]:
        if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
            raise TypeError(f"grads must be a list of arrays, one per parameter, got "
                            f"{type(grads).__name__}; wrap a single array in a list: [g]")
        if len(grads) != len(self.params):
            raise ValueError(f"step expects {len(self.params)} gradient(s), one per parameter, "
                             f"got {len(grads)}")
        out = []
        for i, (p, g) in enumerate(zip(self.params, grads)):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] must have the shape of params[{i}], {p.shape}, got {g.shape}")
            out.append(g)
        return out

    def step(self, grads) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of numpy.ndarray
            One gradient per parameter, each shaped like its parameter.
        """
        for i, (param, grad) in enumerate(zip(self.params, self._check_grads(grads))):
            self.update(i, param, grad, self.state[i])

    def update(self, i: int, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Update ``param`` (the ``i``-th parameter) in place; ``state`` is ``self.state[i]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(i, param, grad, state) "
                                  "or override step(grads)")

    def rebind(self, params) -> "Optimizer":
        """A copy with the same hyperparameters, bound to new ``params``, with fresh state."""
        new = copy.copy(self)
        new.params = _check_params(params)
        new.reset_state()
        return new

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({hp})"


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    r"""``start += weight * (end - start)`` in place, rounded as ``torch.Tensor.lerp_``.

    .. math:: \text{start} \leftarrow \text{start} + w\,(\text{end} - \text{start})

    Torch switches to ``end - (end - start)(1 - w)`` for :math:`w \ge 1/2`; both are the
    same number in exact arithmetic, and copying the switch keeps trajectories bit-close.
    """
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1.0 - weight)
