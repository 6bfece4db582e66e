r"""The interface every optimizer shares (Unit 3, "Gradient descent and its variants").

An optimizer holds parameter arrays and changes them *in place*::

    w, b = layer.parameters()          # float64 arrays
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    for epoch in range(100):
        grads = compute_gradients(w, b)  # a list of arrays shaped like the parameters
        opt.step(grads)                  # w and b now hold the new values

Unlike ``torch.optim``, the gradients are passed to ``step`` (NumPy arrays have no
``.grad``). They live in the layers, so ``zero_grad()`` belongs to the model
(:meth:`dlcourse.layers.module.Module.zero_grad`), called before each ``backward``.

Parameter groups, as in torch: ``params`` may be a list of dicts, each with its own
hyperparameters (the others from the constructor's keywords); a common use is no weight
decay on the biases::

    opt = SGD([{"params": [W1, W2]}, {"params": [b1, b2], "weight_decay": 0.0}],
              lr=0.1, weight_decay=1e-3)
    opt.step([gW1, gW2, gb1, gb2])     # gradients in parameter order across the groups

``opt.param_groups`` is the list of group dicts (every hyperparameter filled in);
``opt.lr = ...`` sets the learning rate of every group (a schedule between steps),
``opt.param_groups[k]["lr"] = ...`` of one. Per-parameter state lives in
``opt.state[i]`` (a dict, ``i`` counting parameters across groups) under torch's keys;
``state_dict()`` / ``load_state_dict()`` save and restore hyperparameters and state.

Writing your own optimizer for the race
---------------------------------------
Subclass :class:`Optimizer`, call ``super().__init__(params, defaults)`` with a dict of
hyperparameters, and implement ``update(param, grad, state)``, which changes ``param`` in
place (``param -= ...``) and keeps whatever it needs in the dict ``state``. Inside
``update``, ``self.lr`` (and every other hyperparameter) is the value of ``param``'s group::

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def update(self, param, grad, state):
            param -= self.lr * np.sign(grad)

(The older signature ``update(self, i, param, grad, state)`` still works.) Override
``step(grads)`` instead if the update couples the parameters (as clipping the total norm does).
"""

from __future__ import annotations

import copy
import inspect
import numbers

import numpy as np

__all__ = ["Optimizer"]


def _check_params(params, where: str = "params") -> list[np.ndarray]:
    """Return ``params`` as a list of float arrays that can be updated in place."""
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
        raise TypeError(f"{where} must be a list of float arrays (updated in place), got "
                        f"{type(params).__name__}; wrap a single array in a list: [w]")
    if len(params) == 0:
        raise ValueError(f"optimizer got an empty parameter list ({where})")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{where}[{i}] must be a numpy array (updated in place), got "
                            f"{type(p).__name__}; use np.array(..., dtype=float)")
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"{where}[{i}] must have a floating dtype to be updated in place, got "
                            f"{p.dtype}; convert it with p.astype(float)")
    ids = [id(p) for p in params]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where} contains the same array twice; pass each parameter once")
    return list(params)


def _check_hyper(value, name: str):
    """Type-check a hyperparameter (a real number); the range checks are torch's, in ``__init__``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return value


def _check_group_value(name: str, value, default):
    """A group's override has the type of the default, and numbers are >= 0 (as every default here)."""
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
        return bool(value)
    if isinstance(default, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(default):
            raise TypeError(f"{name} must be a tuple of {len(default)} numbers like {default}, got {value!r}")
        return tuple(_check_group_value(f"{name}[{k}]", v, d) for k, (v, d) in enumerate(zip(value, default)))
    _check_hyper(value, name)
    if value < 0:
        raise ValueError(f"Invalid learning rate: {value}" if name == "lr" else f"Invalid {name} value: {value}")
    return value


class Optimizer:
    r"""Base class of the optimizers in :mod:`dlcourse.optim`.

    Parameters
    ----------
    params : list of numpy.ndarray, or list of dict
        The parameters, float arrays of any shapes, updated in place by :meth:`step`; or
        parameter groups ``{"params": [arrays], <hyperparameter>: value, ...}``.
    defaults : dict
        Hyperparameters by name, for every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` and every hyperparameter.
    params : list of numpy.ndarray
        All parameters, in order across the groups.
    state : list of dict
        ``state[i]`` holds what the update of ``params[i]`` carries from step to step
        (torch's keys: ``step``, ``momentum_buffer``, ``exp_avg``, ...).
    defaults : dict
        The hyperparameters given to the constructor.

    Notes
    -----
    Subclasses implement ``update(param, grad, state)``, or override :meth:`step`.
    ``opt.lr`` (any hyperparameter) reads the first group's value outside ``update`` and
    the current parameter's group's value inside; assigning it sets every group's.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "update" in cls.__dict__:  # the older update(self, i, param, grad, state) takes the index first
            cls._update_takes_index = len(inspect.signature(cls.update).parameters) == 5

    _update_takes_index = False

    def __init__(self, params, defaults: dict):
        self.__dict__.update(defaults=dict(defaults), param_groups=[], params=[], state=[], _active=None)
        if isinstance(params, (list, tuple)) and params and all(isinstance(g, dict) for g in params):
            for group in params:
                self.add_param_group(group)
        else:
            self.add_param_group({"params": _check_params(params)})

    # ----------------------------------------------------------------- hyperparameters as attributes
    def __getattr__(self, name):
        defaults = self.__dict__.get("defaults")
        if defaults is not None and name in defaults:
            group = self.__dict__.get("_active") or self.__dict__["param_groups"][0]
            return group[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in self.__dict__.get("defaults", ()):
            for group in self.param_groups:
                group[name] = value
        else:
            object.__setattr__(self, name, value)

    @property
    def hyperparameters(self) -> dict:
        """The first group's current hyperparameters (``lr`` as set by a schedule, not the initial one)."""
        return {name: self.param_groups[0][name] for name in self.defaults}

    # ----------------------------------------------------------------- groups and state
    def add_param_group(self, param_group: dict) -> None:
        """Add a group ``{"params": [arrays], <hyperparameter>: value, ...}``; missing values from ``defaults``."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError("param_group must be a dict with a 'params' list, e.g. {'params': [b], 'weight_decay': 0}, "
                            f"got {type(param_group).__name__}")
        k = len(self.param_groups)
        params = _check_params(param_group["params"], f"param_groups[{k}]['params']")
        seen = {id(p) for p in self.params}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        unknown = sorted(set(param_group) - set(self.defaults) - {"params"})
        if unknown:
            raise TypeError(f"param_groups[{k}] has unknown hyperparameter(s) {unknown}; "
                            f"{type(self).__name__} takes {sorted(self.defaults)}")
        group = {"params": params}
        for name, default in self.defaults.items():
            group[name] = _check_group_value(name, param_group[name], default) if name in param_group else default
        self.param_groups.append(group)
        self.params.extend(params)
        self.state.extend(self._initial_state(p, group) for p in params)

    def _initial_state(self, param: np.ndarray, group: dict) -> dict:
        """The state of a parameter before its first step (empty: most optimizers create it lazily)."""
        return {}

    def reset_state(self) -> None:
        """Forget everything carried between steps (momentum, averages, step counts)."""
        self.state = [self._initial_state(p, g) for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """A copy of the state and hyperparameters, as torch's: parameters are referred to by their index.

        Returns
        -------
        dict
            ``{"state": {i: {...}}, "param_groups": [{<hyperparameters>, "params": [i, ...]}]}``.
        """
        groups, start = [], 0
        for g in self.param_groups:
            n = len(g["params"])
            groups.append({**{k: copy.deepcopy(v) for k, v in g.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {"state": {i: copy.deepcopy(s) for i, s in enumerate(self.state) if s}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the hyperparameters and state of ``state_dict`` (from :meth:`state_dict`); keep the parameters."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise TypeError("state_dict must be a dict with keys 'state' and 'param_groups' (from opt.state_dict()), "
                            f"got {type(state_dict).__name__}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter group(s), this optimizer "
                             f"{len(self.param_groups)}")
        for k, (ours, theirs) in enumerate(zip(self.param_groups, groups)):
            if len(theirs["params"]) != len(ours["params"]):
                raise ValueError(f"loaded state dict's group {k} has {len(theirs['params'])} parameter(s), "
                                 f"this optimizer's {len(ours['params'])}")
        for k, (ours, theirs) in enumerate(zip(self.param_groups, groups)):
            ours.update({name: copy.deepcopy(theirs[name]) for name in self.defaults if name in theirs})
        self.reset_state()
        for i, s in state_dict["state"].items():
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != self.params[i].shape:
                    raise ValueError(f"state[{i}][{key!r}] has shape {value.shape}, "
                                     f"parameter {i} {self.params[i].shape}")
            self.state[i] = copy.deepcopy(s)

    # ----------------------------------------------------------------- the step
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
            One gradient per parameter (in order across the groups), each shaped like its parameter.
        """
        self._step(self._check_grads(grads))

    def _step(self, grads) -> None:
        """:meth:`step` without the checks of ``grads`` (for callers that built them)."""
        i, legacy = 0, self._update_takes_index
        try:
            for group in self.param_groups:
                self._active = group
                for param in group["params"]:
                    if legacy:
                        self.update(i, param, grads[i], self.state[i])
                    else:
                        self.update(param, grads[i], self.state[i])
                    i += 1
        finally:
            self._active = None

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Update ``param`` in place; ``state`` is its dict in ``self.state``; ``self.lr`` is its group's."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(param, grad, state) "
                                  "or override step(grads)")

    def rebind(self, params) -> "Optimizer":
        """A copy with the first group's hyperparameters, bound to new ``params``, with fresh state."""
        new = copy.copy(self)
        hyper = self.hyperparameters
        new.__dict__.update(param_groups=[], params=[], state=[], _active=None)
        new.add_param_group({"params": _check_params(params), **hyper})
        return new

    def __repr__(self) -> str:
        def fmt(group):
            return ", ".join(f"{k}={group[k]!r}" for k in self.defaults)
        if len(self.param_groups) == 1:
            return f"{type(self).__name__}({fmt(self.param_groups[0])})"
        groups = "; ".join(f"group {k}: {fmt(g)}" for k, g in enumerate(self.param_groups))
        return f"{type(self).__name__}({groups})"


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
