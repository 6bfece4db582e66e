"""Layers with forward and backward passes, named and shaped as in ``torch.nn``.

Unit 1: :class:`Linear`, activations as layers, :class:`Sequential`.
Later units add Dropout, BatchNorm1d (Unit 4), Conv2d, pooling, RNN, LSTM and GRU (Unit 5).
"""

from .activation import Activation, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm1d
from .conv import Conv2d, conv_output_size
from .dropout import Dropout
from .linear import Linear
from .module import Module, Sequential
from .pooling import AvgPool2d, Flatten, MaxPool2d
from .recurrent import GRU, LSTM, RNN

__all__ = ["Module", "Sequential", "Linear", "Activation", "ReLU", "Sigmoid", "Tanh", "Dropout", "BatchNorm1d",
           "Conv2d", "conv_output_size", "MaxPool2d", "AvgPool2d", "Flatten", "RNN", "LSTM", "GRU"]
