r"""Max and average pooling and Flatten (Unit 5, "Pooling").

A pooling layer summarizes each ``kH × kW`` window of every channel by one number:
its maximum (:class:`MaxPool2d`) or its mean (:class:`AvgPool2d`). It has no
parameters. :class:`Flatten` turns the ``(N, C, H, W)`` feature maps into the
``(N, C * H * W)`` rows a :class:`~dlcourse.layers.linear.Linear` layer takes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validate import as_float_array
from .conv import _output_hw, pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "Flatten"]


def _windows(x, kernel_size, stride):
    """View of ``x`` as ``(N, C, H_out, W_out, kH, kW)`` windows (no copy)."""
    (kH, kW), (sH, sW) = kernel_size, stride
    Ho, Wo = _output_hw(x.shape[2], x.shape[3], kernel_size, stride, (0, 0))
    return sliding_window_view(x, (kH, kW), axis=(2, 3))[:, :, ::sH, ::sW][:, :, :Ho, :Wo]


class PoolCache(NamedTuple):
    x_shape: tuple
    argmax: np.ndarray | None


class _Pool2d(Module):
    """Shared validation and the loop over kernel offsets that both backward passes use."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")

    def output_size(self, H: int, W: int) -> tuple[int, int]:
        """``(H_out, W_out)`` for an ``H × W`` input (see :func:`~dlcourse.layers.conv.conv_output_size`)."""
        return _output_hw(H, W, self.kernel_size, self.stride, (0, 0))

    def _check_input(self, x):
        x = as_float_array(x, "x")
        if x.ndim != 4:
            raise ValueError(f"x must have shape (N, C, H, W) for {type(self).__name__}, got {x.shape} "
                             f"({x.ndim}-D)")
        return x

    def _check_grad(self, grad_out, x_shape):
        g = as_float_array(grad_out, "grad_out")
        expected = tuple(x_shape[:2]) + self.output_size(*x_shape[2:])
        if g.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {g.shape}")
        return g

    def _scatter(self, x_shape, weight_of_offset):
        """Sum ``weight_of_offset(i, j)`` (shape of the output) into the input, offset by offset."""
        (kH, kW), (sH, sW) = self.kernel_size, self.stride
        Ho, Wo = self.output_size(*x_shape[2:])
        dx = np.zeros(x_shape)
        for i in range(kH):
            for j in range(kW):
                dx[:, :, i:i + sH * (Ho - 1) + 1:sH, j:j + sW * (Wo - 1) + 1:sW] += weight_of_offset(i, j)
        return dx

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    r"""Max pooling over ``(N, C, H, W)`` input, as ``torch.nn.MaxPool2d``.

    .. math:: y_{n,c,i,j} = \max_{0 \le u < k_H,\; 0 \le v < k_W} x_{n,c,\,s_H i + u,\; s_W j + v}

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows), as in torch.

    The backward pass routes each output gradient to the position of its window's
    maximum; every other input gets zero. With a tie the first maximum in row-major
    order wins, as in torch. Where windows overlap, an input that is the maximum of
    several windows receives the sum of their gradients.

    Unit 5, "Pooling".
    """

    def forward(self, x):
        x = self._check_input(x)
        win = _windows(x, self.kernel_size, self.stride)
        flat = win.reshape(win.shape[:4] + (-1,))
        argmax = flat.argmax(axis=-1)
        self._cache = PoolCache(x.shape, argmax)
        return np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]

    def backward(self, grad_out):
        x_shape, argmax = self._require_cache()
        g = self._check_grad(grad_out, x_shape)
        kW = self.kernel_size[1]
        return self._scatter(x_shape, lambda i, j: np.where(argmax == i * kW + j, g, 0.0))


class AvgPool2d(_Pool2d):
    r"""Average pooling over ``(N, C, H, W)`` input, as ``torch.nn.AvgPool2d`` (no padding).

    .. math:: y_{n,c,i,j} = \frac{1}{k_H k_W} \sum_{u, v} x_{n,c,\,s_H i + u,\; s_W j + v}

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.

    The backward pass spreads each output gradient evenly, :math:`1/(k_H k_W)` to every
    input of its window.
    """

    def forward(self, x):
        x = self._check_input(x)
        self._cache = PoolCache(x.shape, None)
        return _windows(x, self.kernel_size, self.stride).mean(axis=(-2, -1))

    def backward(self, grad_out):
        x_shape, _ = self._require_cache()
        g = self._check_grad(grad_out, x_shape) / (self.kernel_size[0] * self.kernel_size[1])
        return self._scatter(x_shape, lambda i, j: g)


class FlattenCache(NamedTuple):
    x_shape: tuple


class Flatten(Module):
    """Flatten all but the first (batch) axis, as ``torch.nn.Flatten()``: ``(N, *) -> (N, prod(*))``."""

    def forward(self, x):
        x = as_float_array(x, "x")
        if x.ndim < 1:
            raise ValueError(f"x must have a batch axis, got a scalar of shape {x.shape}")
        self._cache = FlattenCache(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        (x_shape,) = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        expected = (x_shape[0], int(np.prod(x_shape[1:], dtype=np.int64)))
        if g.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {g.shape}")
        return g.reshape(x_shape)

    def __repr__(self) -> str:
        return "Flatten()"
