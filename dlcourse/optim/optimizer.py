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
``opt.lr = ...`` sets the learning rate of every group (a schedule between steps; checked
as the constructor's arguments are, so ``opt.lr = -1`` raises a ``ValueError``),
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

(The older signature ``update(self, i, param, grad, state)``, recognised by its first argument
named ``i``, works until the end of this term with a ``DeprecationWarning``.) Override
``step(grads)`` instead if the update couples the parameters (as clipping the total norm does).
"""

from __future__ import annotations

import copy
import inspect
import numbers
import re
import warnings

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
    """Type-check a hyperparameter (a real number); the range checks are in :func:`_check_group_value`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return value


def _invalid(name: str, value, expected: str, where: str | None = None) -> ValueError:
    """Torch's message for a hyperparameter out of range ("Invalid learning rate: -1").

    ``where`` (``"opt.lr"``, ``"param_groups[1]['lr']"``, ...) adds what was expected, for the
    callers torch has no message for (a group's override, an assignment, a loaded state dict).
    """
    index = re.fullmatch(r"betas\[(\d)\]", name)
    label = ("learning rate" if name == "lr" else "epsilon value" if name == "eps"
             else f"beta parameter at index {index.group(1)}" if index else f"{name} value")
    if where is None:
        return ValueError(f"Invalid {label}: {value}")
    return ValueError(f"Invalid {label}: {where} must be {expected}, got {value!r}")


def _check_group_value(name: str, value, default, where: str | None = None):
    """``value`` of hyperparameter ``name`` checked against its ``default``: the same type, numbers >= 0.

    A bool default wants a bool, a tuple default a tuple (or list) of as many numbers, a number
    a real number >= 0 (every default here is); other defaults (None, a string, a function, in
    an optimizer of your own) take any value. Ranges beyond ">= 0" (betas < 1, nesterov with
    momentum) are each optimizer's :meth:`Optimizer._check_group`. ``where`` names the value in
    the error (``None``: the constructor's argument, with torch's message).
    """
    label = name if where is None else where
    if isinstance(default, (bool, np.bool_)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{label} must be True or False, got {type(value).__name__} {value!r}")
        return bool(value)
    if isinstance(default, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(default):
            raise TypeError(f"{label} must be a tuple of {len(default)} numbers like {default}, got {value!r}")
        return tuple(_check_group_value(f"{name}[{k}]", v, d, None if where is None else f"{where}[{k}]")
                     for k, (v, d) in enumerate(zip(value, default)))
    if isinstance(default, numbers.Real):
        _check_hyper(value, label)
        if not value >= 0:  # NaN too
            raise _invalid(name, value, ">= 0", where)
    return value


def _label(prefix: str | None, name: str) -> str | None:
    """How an error names hyperparameter ``name`` of a group (``None``: the constructor's argument)."""
    if prefix is None:
        return None
    return prefix + name if prefix.endswith(".") else f"{prefix}[{name!r}]"


def _signature_defaults(cls, defaults: dict) -> dict:
    """The type reference of each hyperparameter: ``cls.__init__``'s default for it, else its value."""
    try:
        signature = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        signature = {}
    empty = inspect.Parameter.empty
    return {name: signature[name].default if name in signature and signature[name].default is not empty else value
            for name, value in defaults.items()}


def _takes_index(update) -> bool:
    """Whether ``update`` is the deprecated ``update(self, i, param, grad, state)``: its first argument is ``i``."""
    try:
        names = list(inspect.signature(update).parameters)
    except (TypeError, ValueError):
        return False
    return len(names) >= 2 and names[1] == "i"


def _state_index(key, n: int) -> int:
    """A state dict's key: an int index of a parameter, or its decimal string (after a JSON round trip)."""
    if isinstance(key, str) and key.isdigit() and key.isascii():
        index = int(key)
    elif isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
        index = int(key)
    else:
        raise TypeError(f"state_dict['state'] keys must be parameter indices (int, or digits as str), got "
                        f"{type(key).__name__} {key!r}")
    if not 0 <= index < n:
        raise ValueError(f"state_dict['state'] key {key!r} must be a parameter index in [0, {n - 1}], got {index}")
    return index


def _state_value(i: int, name, value, shape: tuple):
    """A copy of entry ``name`` of parameter ``i``'s state: a number, None, or an array of the parameter's shape."""
    where = f"state[{i}][{name!r}]"
    if value is None or (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))):
        return value
    if isinstance(value, (np.ndarray, list, tuple)):
        array = np.array(value)
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"{where} must be an array of numbers, got dtype {array.dtype}")
        if array.shape != shape:
            raise ValueError(f"{where} has shape {array.shape}, parameter {i} {shape}")
        return array.astype(np.float64) if not isinstance(value, np.ndarray) else array.copy()
    raise TypeError(f"{where} must be a number, None or an array, got {type(value).__name__} {value!r:.60}")


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
        if "update" in cls.__dict__:
            cls._update_takes_index = _takes_index(cls.update)
            if cls._update_takes_index:
                warnings.warn(f"{cls.__name__}.update(self, i, param, grad, state) is the older signature, "
                              f"deprecated: write update(self, param, grad, state) (drop the index i; use the "
                              f"dict state to keep what a parameter needs). The older one works until the end "
                              f"of this term.", DeprecationWarning, stacklevel=2)

    _update_takes_index = False

    def __init__(self, params, defaults: dict):
        if not isinstance(defaults, dict):
            raise TypeError(f"defaults must be a dict of hyperparameters such as {{'lr': 0.01}}, "
                            f"got {type(defaults).__name__}")
        self.__dict__.update(defaults=dict(defaults), param_groups=[], params=[], state=[], _active=None)
        reference = _signature_defaults(type(self), defaults)
        checked = {name: _check_group_value(name, value, reference[name]) for name, value in defaults.items()}
        self._check_group(checked, None)
        self.__dict__["defaults"] = checked
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
            checked = [self._checked_group({**g, name: value}, "opt.") for g in self.param_groups]
            for group, new in zip(self.param_groups, checked):  # every group checked before any changes
                group[name] = new[name]
        else:
            object.__setattr__(self, name, value)

    def _checked_group(self, values: dict, prefix: str | None) -> dict:
        """The hyperparameters of ``values`` (one for every name of ``defaults``) checked, in a new dict.

        ``prefix`` names the group in errors: ``"opt."`` gives ``opt.lr``, ``"param_groups[1]"``
        gives ``param_groups[1]['lr']``.
        """
        group = {name: _check_group_value(name, values[name], default, _label(prefix, name))
                 for name, default in self.defaults.items()}
        self._check_group(group, prefix)
        return group

    def _check_group(self, group: dict, prefix: str | None) -> None:
        """Checks of one group's hyperparameters beyond type and ">= 0" (none here; e.g. Adam's betas < 1).

        ``prefix`` is ``None`` for the constructor's arguments (raise torch's message), else
        pass ``_label(prefix, name)`` as ``where`` to :func:`_invalid`.
        """

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
        group = {"params": params, **self._checked_group({**self.defaults, **param_group}, f"param_groups[{k}]")}
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
        """Take the hyperparameters and state of ``state_dict`` (from :meth:`state_dict`); keep the parameters.

        Everything is checked before anything changes: a rejected state dict leaves the optimizer
        as it was. Hyperparameters get the checks of the constructor; ``state`` is keyed by the
        parameter's index, an int in ``range(len(opt.params))`` or its decimal string (what a
        JSON round trip makes of it); arrays (or lists, after JSON) must have the parameter's shape.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise TypeError("state_dict must be a dict with keys 'state' and 'param_groups' (from opt.state_dict()), "
                            f"got {type(state_dict).__name__}")
        groups, state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) for g in groups):
            raise TypeError(f"state_dict['param_groups'] must be a list of dicts, got {groups!r:.80}")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter group(s), this optimizer "
                             f"{len(self.param_groups)}")
        new_groups = []
        for k, (ours, theirs) in enumerate(zip(self.param_groups, groups)):
            n = len(theirs.get("params", ()))
            if n != len(ours["params"]):
                raise ValueError(f"loaded state dict's group {k} has {n} parameter(s), "
                                 f"this optimizer's {len(ours['params'])}")
            values = {name: copy.deepcopy(theirs.get(name, ours[name])) for name in self.defaults}
            new_groups.append(self._checked_group(values, f"state_dict['param_groups'][{k}]"))
        new_state = [self._initial_state(p, {**g, "params": ours["params"]})
                     for ours, g in zip(self.param_groups, new_groups) for p in ours["params"]]
        if not isinstance(state, dict):
            raise TypeError(f"state_dict['state'] must be a dict {{index: {{...}}}}, got {type(state).__name__}")
        for key, s in state.items():
            i = _state_index(key, len(self.params))
            if not isinstance(s, dict):
                raise TypeError(f"state_dict['state'][{key!r}] must be a dict, got {type(s).__name__}")
            new_state[i] = {name: _state_value(i, name, value, self.params[i].shape)
                            for name, value in s.items()}
        for ours, new in zip(self.param_groups, new_groups):
            ours.update(new)
        self.state = new_state

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
                    if legacy:  # the deprecated update(self, i, param, grad, state)
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
