r"""The Transformer encoder layer (Unit 5, "Attention and transformers").

One layer is two sub-layers, each wrapped in a residual connection and a layer norm:
self-attention, which mixes information *between* positions, then a position-wise
feed-forward network (two linear layers), which transforms each position on its own.
A decoder-only language model (GPT) is a stack of these with a causal mask.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_choice, check_positive_int
from .activation import Activation
from .attention import MultiheadAttention, load_named
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer"]


class _GELU(Module):
    r"""GELU with the exact Gaussian CDF, as ``torch.nn.functional.gelu``: :math:`x\,\Phi(x)`."""

    def forward(self, x):
        from scipy.special import erf

        cdf = 0.5 * (1.0 + erf(x / np.sqrt(2.0)))
        self._cache = (x, cdf)
        return x * cdf

    def backward(self, grad_out):
        x, cdf = self._require_cache()
        return grad_out * (cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi))


class EncoderCache(NamedTuple):
    shape: tuple


class TransformerEncoderLayer(Module):
    r"""Self-attention and a feed-forward network with residuals and layer norms, as ``torch.nn.TransformerEncoderLayer``.

    Post-norm (``norm_first=False``, the original Transformer and torch's default):

    .. math::
        h = \mathrm{LN}_1(x + \mathrm{SA}(x)), \qquad y = \mathrm{LN}_2(h + \mathrm{FF}(h))

    Pre-norm (``norm_first=True``, GPT-2 and most recent models; trains more easily when deep):

    .. math::
        h = x + \mathrm{SA}(\mathrm{LN}_1(x)), \qquad y = h + \mathrm{FF}(\mathrm{LN}_2(h))

    with :math:`\mathrm{FF}(h) = \mathrm{Linear}_2(\mathrm{act}(\mathrm{Linear}_1(h)))`.

    Parameters
    ----------
    d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias
        As torch: ``dim_feedforward=2048``, ``dropout=0.1``, ``activation="relu"`` (or ``"gelu"``),
        ``layer_norm_eps=1e-5``, ``batch_first=False``, ``norm_first=False``, ``bias=True``.
        Dropout acts where torch's does: on the attention weights, after the attention, inside
        and after the feed-forward network (training mode only; ``dropout=0`` or ``eval()``
        makes the layer deterministic).
    rng : None, int or numpy.random.Generator
        Initial weights and dropout masks.

    ``params`` and ``grads`` have torch's dotted names (``self_attn.in_proj_weight``,
    ``linear1.weight``, ``norm1.bias``, ...) and are the sub-layers' own arrays, so an optimizer
    updating them updates the sub-layers. ``forward(src, src_mask=None,
    src_key_padding_mask=None, is_causal=False)`` takes ``(T, N, E)`` (or ``(N, T, E)`` with
    ``batch_first``) and torch's masks (``True`` = not allowed); ``backward(grad_out)`` returns
    the gradient of ``src``.

    References
    ----------
    Vaswani et al., "Attention is all you need", NeurIPS 2017; Xiong et al., "On layer
    normalization in the Transformer architecture", ICML 2020 (pre- vs post-norm).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, rng=None):
        super().__init__()
        rng = as_rng(rng)
        d = check_positive_int(d_model, "d_model")
        ff = check_positive_int(dim_feedforward, "dim_feedforward")
        self.activation = check_choice(activation, {"relu", "gelu"}, "activation")
        self.norm_first = bool(norm_first)
        self.self_attn = MultiheadAttention(d, nhead, dropout=dropout, bias=bias, batch_first=batch_first, rng=rng)
        self.linear1, self.linear2 = Linear(d, ff, bias=bias, rng=rng), Linear(ff, d, bias=bias, rng=rng)
        self.norm1 = LayerNorm(d, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d, eps=layer_norm_eps, bias=bias)
        self.act = Activation("relu") if activation == "relu" else _GELU()
        self.dropout, self.dropout1, self.dropout2 = (Dropout(dropout, rng=rng) for _ in range(3))
        for name in ("params", "grads"):
            setattr(self, name, {f"{sub}.{k}": v for sub, m in self._children() for k, v in getattr(m, name).items()})

    def _children(self):
        return [(n, getattr(self, n)) for n in ("self_attn", "linear1", "linear2", "norm1", "norm2")]

    def train(self, mode: bool = True):
        self.training = bool(mode)
        for m in (self.self_attn, self.dropout, self.dropout1, self.dropout2):
            m.train(mode)
        return self

    def load_torch(self, module) -> None:
        """Copy the weights of a ``torch.nn.TransformerEncoderLayer`` with the same sizes and ``norm_first``."""
        if getattr(module, "norm_first", self.norm_first) != self.norm_first:
            raise ValueError(f"this layer has norm_first={self.norm_first}, the torch layer "
                             f"norm_first={module.norm_first}; build both the same way")
        load_named(self, module)

    def __call__(self, src, **kwargs):
        return self.forward(src, **kwargs)

    def _drop(self, layer, x):
        """``layer(x)``, skipped when it is the identity (p = 0 draws no mask: the layer stays fast)."""
        return layer(x) if layer.p > 0 else x

    @staticmethod
    def _drop_backward(layer, g):
        return layer.backward(g) if layer.p > 0 else g

    def _sa(self, x, src_mask, src_key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
                                need_weights=False, is_causal=is_causal)
        return self._drop(self.dropout1, out)

    def _sa_backward(self, g):
        return sum(self.self_attn.backward(self._drop_backward(self.dropout1, g)))

    def _ff(self, x):
        return self._drop(self.dropout2, self.linear2(self._drop(self.dropout, self.act(self.linear1(x)))))

    def _ff_backward(self, g):
        g = self._drop_backward(self.dropout, self.linear2.backward(self._drop_backward(self.dropout2, g)))
        return self.linear1.backward(self.act.backward(g))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = as_float_array(src, "src")
        masks = (src_mask, src_key_padding_mask, is_causal)
        if self.norm_first:
            h = x + self._sa(self.norm1(x), *masks)
            y = h + self._ff(self.norm2(h))
        else:
            h = self.norm1(x + self._sa(x, *masks))
            y = self.norm2(h + self._ff(h))
        self._cache = EncoderCache(x.shape)
        return y

    def backward(self, grad_out):
        (shape,) = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != shape:
            raise ValueError(f"grad_out must have the output's shape {shape}, got {g.shape}")
        if self.norm_first:
            gh = g + self.norm2.backward(self._ff_backward(g))
            return gh + self.norm1.backward(self._sa_backward(gh))
        gh_in = self.norm2.backward(g)
        gh = gh_in + self._ff_backward(gh_in)
        gx_in = self.norm1.backward(gh)
        return gx_in + self._sa_backward(gx_in)

    def __repr__(self) -> str:
        return (f"TransformerEncoderLayer(d_model={self.self_attn.embed_dim}, nhead={self.self_attn.num_heads}, "
                f"dim_feedforward={self.linear1.out_features}, norm_first={self.norm_first})")
