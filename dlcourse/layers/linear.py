r"""The fully connected layer :math:`y = x W^\top + b` (Unit 1, "The linear unit")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_positive_int
from .module import Module


class LinearCache(NamedTuple):
    x: np.ndarray


class Linear(Module):
    r"""Fully connected layer, as ``torch.nn.Linear``.

    .. math:: y = x W^\top + b

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool
        Whether to learn an additive bias (default True).
    rng : None, int or numpy.random.Generator
        Source of the initial weights, drawn like torch's:
        :math:`\mathcal{U}(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})`.

    Shapes: ``weight`` is ``(out_features, in_features)``, ``bias`` ``(out_features,)``;
    input ``(*, in_features)``, output ``(*, out_features)``.

    The backward pass, for :math:`G = \partial L/\partial y`:

    .. math::
        \frac{\partial L}{\partial x} = G W, \quad
        \frac{\partial L}{\partial W} = G^\top x, \quad
        \frac{\partial L}{\partial b} = \textstyle\sum_n G_n
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        rng = as_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        self._add_param("weight", rng.uniform(-bound, bound, (self.out_features, self.in_features)))
        if bias:
            self._add_param("bias", rng.uniform(-bound, bound, self.out_features))

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def load_torch(self, module) -> None:
        """Copy ``weight`` (and ``bias``) of a ``torch.nn.Linear`` of the same shape."""
        if self.bias is None and getattr(module, "bias", None) is not None:
            raise ValueError(f"this Linear has no bias but the torch module {type(module).__name__} has one; "
                             "build it with Linear(..., bias=True) or the torch module with bias=False")
        super().load_torch(module)

    def forward(self, x):
        x = as_float_array(x, "x")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (*, {self.in_features}) for Linear({self.in_features}, "
                             f"{self.out_features}), got {x.shape}")
        self._cache = LinearCache(x)
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def backward(self, grad_out):
        (x,) = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        expected = x.shape[:-1] + (self.out_features,)
        if g.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {g.shape}")
        g2, x2 = g.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        self.grads["weight"] += g2.T @ x2
        if self.bias is not None:
            self.grads["bias"] += g2.sum(axis=0)
        return g @ self.weight
