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
    x_hat: np.ndarray   # the normalized input
    rstd: np.ndarray    # 1 / sqrt(var + eps), with the normalized axes kept as size 1


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
        axes = self._axes(x)
        mu = x.mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        x_hat = (x - mu) * rstd
        self._cache = LayerNormCache(x_hat, rstd)
        if not self.elementwise_affine:
            return x_hat
        y = x_hat * self.params["weight"]
        return y + self.params["bias"] if "bias" in self.params else y

    def backward(self, grad_out):
        x_hat, rstd = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != x_hat.shape:
            raise ValueError(f"grad_out must have the output's shape {x_hat.shape}, got {g.shape}")
        axes = self._axes(g)
        lead = tuple(range(g.ndim - len(axes)))
        if self.elementwise_affine:
            self.grads["weight"] += (g * x_hat).sum(axis=lead)
            if "bias" in self.grads:
                self.grads["bias"] += g.sum(axis=lead)
            g = g * self.params["weight"]
        n = int(np.prod(self.normalized_shape))
        return rstd / n * (n * g - g.sum(axis=axes, keepdims=True)
                           - x_hat * (g * x_hat).sum(axis=axes, keepdims=True))

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps:g})"
