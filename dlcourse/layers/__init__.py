"""Layers with forward and backward passes, named and shaped as in ``torch.nn``.

Unit 1: :class:`Linear`, activations as layers, :class:`Sequential`.
Later units add Dropout, BatchNorm1d (Unit 4), Conv2d, pooling, RNN, LSTM and GRU (Unit 5), and attention,
MultiheadAttention, LayerNorm, Embedding and TransformerEncoderLayer (Unit 5, "Attention and transformers").
"""

from .activation import Activation, ReLU, Sigmoid, Tanh
from .attention import (MultiheadAttention, attention_backward, attention_forward, causal_mask,
                        scaled_dot_product_attention)
from .batchnorm import BatchNorm1d
from .conv import Conv2d, conv_output_size
from .dropout import Dropout
from .embedding import Embedding, sinusoidal_positional_encoding
from .linear import Linear
from .module import Module, Sequential
from .normalization import LayerNorm
from .pooling import AvgPool2d, Flatten, MaxPool2d
from .recurrent import GRU, LSTM, RNN
from .transformer import TransformerEncoderLayer

__all__ = ["Module", "Sequential", "Linear", "Activation", "ReLU", "Sigmoid", "Tanh", "Dropout", "BatchNorm1d",
           "Conv2d", "conv_output_size", "MaxPool2d", "AvgPool2d", "Flatten", "RNN", "LSTM", "GRU",
           "scaled_dot_product_attention", "attention_forward", "attention_backward", "causal_mask",
           "MultiheadAttention", "LayerNorm", "Embedding", "sinusoidal_positional_encoding", "TransformerEncoderLayer"]
