r"""Layer normalization (Unit 5, "Attention and transformers").

Batch normalization (Unit 4) normalizes each feature over the batch; layer normalization
normalizes each *sample* over its features, so it works the same for one sequence or many,
at training and at test time — what a Transformer needs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_number, check_positive_int
from .module import Module

__all__ = ["LayerNorm"]


class LayerNormCache(NamedTuple):
    x_hat: np.ndarray   # the normalized input, one row per sample: (M, n)
    rstd: np.ndarray    # 1 / sqrt(var + eps), (M, 1)
    shape: tuple        # the input's shape


class LayerNorm(Module):
    r"""Layer normalization over the last dimensions, as ``torch.nn.LayerNorm``.

    .. math::
        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \odot \hat x + \beta

    with :math:`\mu` and the biased variance :math:`\sigma^2` taken over the ``normalized_shape``
    dimensions of each sample.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The trailing shape to normalize over (``d_model`` for a Transformer).
    eps : float
        Added to the variance (default 1e-5).
    elementwise_affine : bool
        Learn ``weight`` :math:`\gamma` (ones) and ``bias`` :math:`\beta` (zeros), each of
        ``normalized_shape`` (default True).
    bias : bool
        With ``elementwise_affine``, also learn :math:`\beta` (default True).

    The backward pass, with :math:`n` normalized elements and :math:`\hat g = \gamma \odot G`:

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{n\sqrt{\sigma^2 + \epsilon}}
        \Big(n \hat g - \textstyle\sum \hat g - \hat x \sum (\hat g \odot \hat x)\Big), \quad
        \frac{\partial L}{\partial \gamma} = \textstyle\sum_\text{samples} G \odot \hat x, \quad
        \frac{\partial L}{\partial \beta} = \textstyle\sum_\text{samples} G

    Notes
    -----
    Unlike ``BatchNorm1d`` there are no running statistics: training and eval mode compute
    the same thing. Unit 5, "Layer normalization".

    References
    ----------
    Ba, Kiros and Hinton, "Layer normalization", 2016.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if np.ndim(normalized_shape) == 0 else tuple(normalized_shape)
        self.normalized_shape = tuple(check_positive_int(s, "normalized_shape") for s in shape)
        self.eps = check_number(eps, "eps", low=0.0, low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self._add_param("weight", np.ones(self.normalized_shape))
            if bias:
                self._add_param("bias", np.zeros(self.normalized_shape))

    def _axes(self, x):
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"x must have shape (*, {', '.join(map(str, self.normalized_shape))}) for "
                             f"LayerNorm({self.normalized_shape}), got {x.shape}")
        return tuple(range(x.ndim - k, x.ndim))

    def forward(self, x):
        x = as_float_array(x, "x")
        self._axes(x)
        n = int(np.prod(self.normalized_shape))
        x2 = x.reshape(-1, n)                                   # one row per sample: every pass is a 2-D one
        mu = x2.mean(axis=1, keepdims=True)
        xc = x2 - mu
        rstd = 1.0 / np.sqrt(np.einsum("ij,ij->i", xc, xc)[:, None] / n + self.eps)
        x_hat = xc * rstd
        self._cache = LayerNormCache(x_hat, rstd, x.shape)
        if not self.elementwise_affine:
            return x_hat.reshape(x.shape)
        y = x_hat * self.params["weight"].reshape(-1)
        if "bias" in self.params:
            y += self.params["bias"].reshape(-1)
        return y.reshape(x.shape)

    def backward(self, grad_out):
        x_hat, rstd, shape = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != shape:
            raise ValueError(f"grad_out must have the output's shape {shape}, got {g.shape}")
        n = x_hat.shape[1]
        g = g.reshape(-1, n)
        if self.elementwise_affine:
            w = self.params["weight"].reshape(-1)
            self.grads["weight"] += np.einsum("ij,ij->j", g, x_hat).reshape(self.normalized_shape)
            if "bias" in self.grads:
                self.grads["bias"] += g.sum(axis=0).reshape(self.normalized_shape)
            g_sum, gx_sum, g = g @ w, np.einsum("ij,ij,j->i", g, x_hat, w), g * w
        else:
            g_sum, gx_sum = g.sum(axis=1), np.einsum("ij,ij->i", g, x_hat)
        return (rstd * (g - (g_sum[:, None] + x_hat * gx_sum[:, None]) / n)).reshape(shape)

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps:g})"
