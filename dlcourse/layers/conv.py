r"""The 2-D convolution layer and its im2col / col2im helpers (Unit 5, "Convolution").

A convolution slides a ``(C_in, kH, kW)`` kernel over the (zero-padded) input and
takes a dot product at every position. :func:`im2col` copies every receptive field
into one column of a matrix, so that the whole layer becomes one matrix product;
:func:`col2im` is its adjoint and scatters column gradients back onto the image,
*summing* where receptive fields overlap (backprop through shared weights sums the
contributions of every position, Unit 5, "Backprop through a convolution").

Like ``torch.nn.Conv2d`` the layer computes a cross-correlation (the kernel is not
flipped) and takes input of shape ``(N, C, H, W)``.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validate import as_float_array, as_rng, check_positive_int
from .module import Module

__all__ = ["Conv2d", "conv_output_size", "im2col", "col2im", "pair"]


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` as a ``(height, width)`` pair of ints, as torch's ``_pair`` does.

    ``3`` becomes ``(3, 3)``; ``(3, 5)`` stays ``(3, 5)``. Each entry must be an
    integer ``>= minimum``.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")
    return tuple(check_positive_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value))


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    r"""Output length of a convolution or pooling along one spatial axis.

    .. math:: n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1

    Parameters
    ----------
    n : int
        Input length (height or width).
    kernel_size, stride, padding : int
        :math:`k \ge 1`, :math:`s \ge 1` and :math:`p \ge 0`.

    Examples
    --------
    The lecture's walk-through: a 32×32×3 image, 12 filters of 3×3 with padding 1,
    then a 2×2 max-pool:

    >>> conv_output_size(32, 3, padding=1), conv_output_size(32, 2, stride=2)
    (32, 16)

    Unit 5, "Output size".
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(kernel_size, "kernel_size")
    s = check_positive_int(stride, "stride")
    p = check_positive_int(padding, "padding", minimum=0)
    if k > n + 2 * p:
        raise ValueError(f"kernel_size {k} is larger than the padded input ({n} + 2*{p} = {n + 2 * p}); "
                         "use a smaller kernel, more padding or a larger input")
    return (n + 2 * p - k) // s + 1


def _output_hw(H, W, kernel_size, stride, padding):
    (kH, kW), (sH, sW), (pH, pW) = kernel_size, stride, padding
    try:
        return conv_output_size(H, kH, sH, pH), conv_output_size(W, kW, sW, pW)
    except ValueError as exc:
        raise ValueError(f"input of spatial size {H}×{W} is too small for kernel {kH}×{kW} "
                         f"with padding {(pH, pW)}: {exc}") from None


def im2col(x, kernel_size, stride=1, padding=0) -> np.ndarray:
    r"""Copy every receptive field of ``x`` into a column.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)

    Returns
    -------
    cols : ndarray, shape (C * kH * kW, N * H_out * W_out)
        Row ``(c, i, j)`` (in C order) holds the input pixel at channel ``c``, offset
        ``(i, j)`` inside the window; column ``(n, y, x)`` is the window of output
        pixel ``(y, x)`` of sample ``n``. Then ``W.reshape(C_out, -1) @ cols`` is the
        convolution.
    """
    x = as_float_array(x, "x", ndim=4)
    (kH, kW), (sH, sW) = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    pH, pW = pair(padding, "padding", minimum=0)
    N, C, H, W = x.shape
    Ho, Wo = _output_hw(H, W, (kH, kW), (sH, sW), (pH, pW))
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW))) if pH or pW else x
    win = sliding_window_view(xp, (kH, kW), axis=(2, 3))[:, :, ::sH, ::sW][:, :, :Ho, :Wo]
    return np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(C * kH * kW, N * Ho * Wo)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    r"""Scatter columns back onto the image, summing overlaps (the adjoint of :func:`im2col`).

    For ``G`` of :func:`im2col`'s shape, ``col2im(G, x.shape, ...)`` is the gradient of
    :math:`\langle \mathrm{im2col}(x), G \rangle` with respect to ``x``. It loops over the
    ``kH * kW`` kernel offsets and adds one strided slice at each.

    Parameters
    ----------
    cols : ndarray, shape (C * kH * kW, N * H_out * W_out)
    x_shape : tuple (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)

    Returns
    -------
    ndarray, shape (N, C, H, W)
    """
    N, C, H, W = (check_positive_int(v, "x_shape entry") for v in x_shape)
    (kH, kW), (sH, sW) = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    pH, pW = pair(padding, "padding", minimum=0)
    Ho, Wo = _output_hw(H, W, (kH, kW), (sH, sW), (pH, pW))
    cols = as_float_array(cols, "cols", ndim=2)
    if cols.shape != (C * kH * kW, N * Ho * Wo):
        raise ValueError(f"cols must have shape {(C * kH * kW, N * Ho * Wo)} for x_shape {tuple(x_shape)}, "
                         f"got {cols.shape}")
    d = cols.reshape(C, kH, kW, N, Ho, Wo)
    dxp = np.zeros((C, N, H + 2 * pH, W + 2 * pW))
    for i in range(kH):
        for j in range(kW):
            dxp[:, :, i:i + sH * (Ho - 1) + 1:sH, j:j + sW * (Wo - 1) + 1:sW] += d[:, i, j]
    return np.ascontiguousarray(dxp[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3))


class Conv2dCache(NamedTuple):
    x_shape: tuple
    cols: np.ndarray


class Conv2d(Module):
    r"""2-D convolution over ``(N, C, H, W)`` input, as ``torch.nn.Conv2d``.

    .. math::
        y_{n,o,i,j} = b_o + \sum_{c=0}^{C_\text{in}-1} \sum_{u=0}^{k_H-1} \sum_{v=0}^{k_W-1}
        W_{o,c,u,v}\; \tilde x_{n,c,\,s_H i + u,\; s_W j + v}

    where :math:`\tilde x` is ``x`` zero-padded by ``padding`` on every side.

    Parameters
    ----------
    in_channels, out_channels : int
        :math:`C_\text{in}` and :math:`C_\text{out}` (the number of filters).
    kernel_size, stride, padding : int or (int, int)
        Kernel :math:`(k_H, k_W)`, step :math:`(s_H, s_W)` and zero padding :math:`(p_H, p_W)`.
    bias : bool
        Whether to learn one additive bias per output channel (default True).
    rng : None, int or numpy.random.Generator
        Source of the initial weights, drawn like torch's
        (``kaiming_uniform_(a=sqrt(5))`` for the weight, which is
        :math:`\mathcal{U}(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`, and the same
        range for the bias, with :math:`\text{fan\_in} = C_\text{in} k_H k_W`).

    Shapes: ``weight`` ``(C_out, C_in, kH, kW)``, ``bias`` ``(C_out,)``; input
    ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)`` with :func:`conv_output_size`.

    The backward pass, with ``cols = im2col(x)`` and :math:`G` the output gradient
    reshaped to ``(C_out, N * H_out * W_out)``:

    .. math::
        \frac{\partial L}{\partial W} = G\, \mathrm{cols}^\top, \quad
        \frac{\partial L}{\partial b} = \textstyle\sum G, \quad
        \frac{\partial L}{\partial x} = \mathrm{col2im}(W^\top G)

    Notes
    -----
    Deep-learning "convolution" is a cross-correlation: the kernel is not flipped.
    Taught in Unit 5, "Convolution" and "Backprop through a convolution".
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, rng=None):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding", minimum=0)
        rng = as_rng(rng)
        kH, kW = self.kernel_size
        bound = 1.0 / np.sqrt(self.in_channels * kH * kW)
        self._add_param("weight", rng.uniform(-bound, bound, (self.out_channels, self.in_channels, kH, kW)))
        if bias:
            self._add_param("bias", rng.uniform(-bound, bound, self.out_channels))

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def load_torch(self, module) -> None:
        """Copy ``weight`` (and ``bias``) of a ``torch.nn.Conv2d`` with the same configuration."""
        if self.bias is None and getattr(module, "bias", None) is not None:
            raise ValueError(f"this Conv2d has no bias but the torch module {type(module).__name__} has one; "
                             "build it with Conv2d(..., bias=True) or the torch module with bias=False")
        for attr in ("stride", "padding"):
            theirs = getattr(module, attr, getattr(self, attr))
            if isinstance(theirs, str) or tuple(theirs) != getattr(self, attr):
                raise ValueError(f"the torch module has {attr}={theirs!r}, this Conv2d has {getattr(self, attr)}; "
                                 "build both with the same stride and padding")
        super().load_torch(module)

    def output_size(self, H: int, W: int) -> tuple[int, int]:
        """``(H_out, W_out)`` for an ``H × W`` input (see :func:`conv_output_size`)."""
        return _output_hw(H, W, self.kernel_size, self.stride, self.padding)

    def forward(self, x):
        x = as_float_array(x, "x")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, H, W) for Conv2d({self.in_channels}, "
                             f"{self.out_channels}, ...), got {x.shape}")
        N, _, H, W = x.shape
        Ho, Wo = self.output_size(H, W)
        cols = im2col(x, self.kernel_size, self.stride, self.padding)
        self._cache = Conv2dCache(x.shape, cols)
        out = (self.weight.reshape(self.out_channels, -1) @ cols).reshape(self.out_channels, N, Ho, Wo)
        if self.bias is not None:
            out += self.bias[:, None, None, None]
        return out.transpose(1, 0, 2, 3)

    def backward(self, grad_out):
        x_shape, cols = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        expected = (x_shape[0], self.out_channels) + self.output_size(*x_shape[2:])
        if g.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {g.shape}")
        g2 = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(self.out_channels, -1)
        self.grads["weight"] += (cols @ g2.T).T.reshape(self.weight.shape)
        if self.bias is not None:
            self.grads["bias"] += g2.sum(axis=1)
        dcols = self.weight.reshape(self.out_channels, -1).T @ g2
        return col2im(dcols, x_shape, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")
