"""Layers with forward and backward passes, named and shaped as in ``torch.nn``.

Unit 1: :class:`Linear`, activations as layers, :class:`Sequential`.
Later units add Dropout, BatchNorm1d (Unit 4), Conv2d, pooling, RNN, LSTM and GRU (Unit 5).
"""

from .activation import Activation, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm1d
from .dropout import Dropout
from .linear import Linear
from .module import Module, Sequential

__all__ = ["Module", "Sequential", "Linear", "Activation", "ReLU", "Sigmoid", "Tanh", "Dropout", "BatchNorm1d"]
