r"""Norm penalties on the weights: L1, L2 and elastic net (Unit 4, "Parameter norm penalties").

Every function takes ``weights`` in one of three forms:

* a dict ``{name: array}`` (e.g. a layer's ``params``): names containing ``"bias"``
  are skipped, since penalizing an offset does not reduce a model's capacity;
* a dlcourse ``Module`` (a layer or a ``Sequential``): its parameters named as
  torch's ``named_parameters()`` would (``"0.weight"``, ``"0.bias"``, ...), biases skipped;
* a single array, penalized in full.

A ``*_grad`` twin returns the gradient in the same form (a dict with the same keys,
zeros for the skipped biases, or an array), ready to add to the data-loss gradient.

Conventions (the lecture notes' and scikit-learn's):

.. math::
    \Omega_{L1}(w) = \alpha \textstyle\sum_i |w_i|, \qquad
    \Omega_{L2}(w) = \tfrac{\alpha}{2} \textstyle\sum_i w_i^2, \qquad
    \Omega_{EN}(w) = \alpha\big(\rho \textstyle\sum_i |w_i| + \tfrac{1 - \rho}{2}\sum_i w_i^2\big)

with :math:`\rho` = ``l1_ratio``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validate import as_float_array, check_number

__all__ = ["named_parameters", "is_penalized", "l1_penalty", "l1_penalty_grad", "l2_penalty",
           "l2_penalty_grad", "elastic_net_penalty", "elastic_net_penalty_grad"]


def is_penalized(name: str) -> bool:
    """Whether the parameter ``name`` is penalized: every parameter except biases."""
    return "bias" not in name


def named_parameters(model, prefix: str = "") -> dict[str, np.ndarray]:
    """A module's parameters as ``{name: array}`` with torch's dotted names (``"0.weight"``)."""
    if hasattr(model, "layers"):
        out = {}
        for i, layer in enumerate(model.layers):
            out.update(named_parameters(layer, f"{prefix}{i}."))
        return out
    if hasattr(model, "params") and isinstance(model.params, Mapping):
        return {f"{prefix}{k}": v for k, v in model.params.items()}
    raise TypeError(f"model must be a dlcourse Module, got {type(model).__name__}")


def _as_named(weights) -> dict[str, np.ndarray] | np.ndarray:
    """Normalize ``weights`` to a dict of float arrays, or a single float array."""
    if isinstance(weights, Mapping):
        for k in weights:
            if not isinstance(k, str):
                raise TypeError(f"weights must be keyed by parameter names (str), got key {k!r}")
        return {k: as_float_array(v, f"weights[{k!r}]") for k, v in weights.items()}
    if hasattr(weights, "params") or hasattr(weights, "layers"):
        return {k: as_float_array(v, k) for k, v in named_parameters(weights).items()}
    if isinstance(weights, (list, tuple)):
        raise TypeError("weights must be a dict {name: array}, a dlcourse Module or one array, "
                        "got a list; pass dict(zip(names, arrays)) so that biases can be recognized")
    return as_float_array(weights, "weights")


def _penalty(weights, elementwise) -> float:
    w = _as_named(weights)
    if isinstance(w, dict):
        return float(sum(np.sum(elementwise(v)) for k, v in w.items() if is_penalized(k)))
    return float(np.sum(elementwise(w)))


def _penalty_grad(weights, elementwise_grad):
    w = _as_named(weights)
    if isinstance(w, dict):
        return {k: elementwise_grad(v) if is_penalized(k) else np.zeros_like(v) for k, v in w.items()}
    return elementwise_grad(w)


def _check_alpha(alpha) -> float:
    return check_number(alpha, "alpha", low=0.0)


def l1_penalty(weights, alpha: float) -> float:
    r"""L1 penalty :math:`\alpha \sum_i |w_i|` over the weights (biases skipped).

    Drives weights to exactly zero (sparsity); see Unit 4, "L1 regularization".
    """
    alpha = _check_alpha(alpha)
    return alpha * _penalty(weights, np.abs)


def l1_penalty_grad(weights, alpha: float):
    r"""(Sub)gradient :math:`\alpha\,\mathrm{sign}(w)` of :func:`l1_penalty`; 0 at :math:`w = 0`, as torch's ``abs``."""
    alpha = _check_alpha(alpha)
    return _penalty_grad(weights, lambda v: alpha * np.sign(v))


def l2_penalty(weights, alpha: float) -> float:
    r"""L2 penalty (weight decay) :math:`\tfrac{\alpha}{2} \sum_i w_i^2` over the weights (biases skipped).

    Notes
    -----
    The factor 1/2 makes the gradient :math:`\alpha w`, which is exactly what
    ``torch.optim.SGD(..., weight_decay=alpha)`` adds to each gradient. So adding this
    penalty to the loss and training with plain SGD equals SGD with ``weight_decay=alpha``
    (except that torch decays biases too unless they are put in a parameter group with
    ``weight_decay=0``). With Adam, ``weight_decay`` is this same L2 gradient, while
    ``AdamW``'s decoupled decay is *not* equivalent to any penalty. Unit 4, "L2 regularization".
    """
    alpha = _check_alpha(alpha)
    return 0.5 * alpha * _penalty(weights, np.square)


def l2_penalty_grad(weights, alpha: float):
    r"""Gradient :math:`\alpha w` of :func:`l2_penalty` (torch's ``weight_decay=alpha`` term)."""
    alpha = _check_alpha(alpha)
    return _penalty_grad(weights, lambda v: alpha * v)


def _check_l1_ratio(l1_ratio) -> float:
    return check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)


def elastic_net_penalty(weights, alpha: float, l1_ratio: float = 0.5) -> float:
    r"""Elastic net :math:`\alpha\big(\rho\sum|w_i| + \tfrac{1-\rho}{2}\sum w_i^2\big)`, :math:`\rho` = ``l1_ratio``.

    ``l1_ratio = 1`` is :func:`l1_penalty`, ``l1_ratio = 0`` is :func:`l2_penalty`
    (scikit-learn's ``ElasticNet`` convention). Biases are skipped.
    """
    alpha, rho = _check_alpha(alpha), _check_l1_ratio(l1_ratio)
    return alpha * _penalty(weights, lambda v: rho * np.abs(v) + 0.5 * (1.0 - rho) * v * v)


def elastic_net_penalty_grad(weights, alpha: float, l1_ratio: float = 0.5):
    r"""Gradient :math:`\alpha\big(\rho\,\mathrm{sign}(w) + (1 - \rho) w\big)` of :func:`elastic_net_penalty`."""
    alpha, rho = _check_alpha(alpha), _check_l1_ratio(l1_ratio)
    return _penalty_grad(weights, lambda v: alpha * (rho * np.sign(v) + (1.0 - rho) * v))
