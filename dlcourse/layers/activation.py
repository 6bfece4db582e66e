"""Activation functions as layers, so that they can sit in a :class:`Sequential`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import activations as A
from .._validate import as_float_array
from .module import Module


class ActivationCache(NamedTuple):
    x: np.ndarray


class Activation(Module):
    """Elementwise activation by name (``"relu"``, ``"tanh"``, ...; see ``dlcourse.activations``)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.f, self.f_prime = A.get_activation(name)

    def forward(self, x):
        x = as_float_array(x, "x")
        self._cache = ActivationCache(x)
        return self.f(x)

    def backward(self, grad_out):
        (x,) = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != x.shape:
            raise ValueError(f"grad_out must have the input's shape {x.shape}, got {g.shape}")
        return g * self.f_prime(x)

    def __repr__(self):
        return f"Activation({self.name!r})"


def ReLU() -> Activation:
    return Activation("relu")


def Sigmoid() -> Activation:
    return Activation("sigmoid")


def Tanh() -> Activation:
    return Activation("tanh")
