r"""Scaled dot-product attention and multi-head attention (Unit 5, "Attention and transformers").

Attention is a soft look-up: each *query* is compared with every *key*, the scores become
weights by a softmax over the keys, and the output is the weighted average of the *values*:

.. math::
    A = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{E}} + M\right), \qquad \text{out} = A V

with :math:`Q` of shape ``(..., L, E)``, :math:`K` ``(..., S, E)``, :math:`V` ``(..., S, E_v)``
and :math:`M` a mask added to the scores (:math:`-\infty` where a query may not look).

- :func:`attention_forward` / :func:`attention_backward`: the function pair with a cache, and
  :func:`scaled_dot_product_attention`, the output alone, as ``torch.nn.functional.
  scaled_dot_product_attention``.
- :class:`MultiheadAttention`: ``num_heads`` attentions side by side on learned projections,
  as ``torch.nn.MultiheadAttention``.

The two masks follow torch, and torch's two conventions differ (a common slip): in
:func:`scaled_dot_product_attention` a boolean ``attn_mask`` is ``True`` where a query **may**
attend; in :class:`MultiheadAttention` a boolean ``attn_mask`` or ``key_padding_mask`` is
``True`` where a query may **not** attend. Float masks are added to the scores in both.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_positive_int
from ..activations import softmax, softmax_backward
from .dropout import check_dropout_p
from .module import Module

__all__ = ["scaled_dot_product_attention", "attention_forward", "attention_backward", "AttentionCache",
           "AttentionGrads", "causal_mask", "MultiheadAttention"]


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from :func:`attention_forward`."""
    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    weights: np.ndarray        # softmax output A, (..., L, S)
    keep: np.ndarray | None    # dropout's mask on A (None without dropout)
    dropout_p: float
    scale: float


class AttentionGrads(NamedTuple):
    query: np.ndarray
    key: np.ndarray
    value: np.ndarray


def causal_mask(L: int, S: int | None = None) -> np.ndarray:
    """Boolean ``(L, S)`` mask, ``True`` where query ``i`` may attend to key ``j``: ``j <= i`` (torch's ``is_causal``)."""
    L = check_positive_int(L, "L")
    S = L if S is None else check_positive_int(S, "S")
    return np.tril(np.ones((L, S), dtype=bool))


def _additive(attn_mask, L, S, name="attn_mask", true_means_allowed=True):
    """A boolean or float mask as the float array added to the scores (``-inf`` where blocked)."""
    m = np.asarray(attn_mask)
    if m.dtype == bool:
        allowed = m if true_means_allowed else ~m
        m = np.where(allowed, 0.0, -np.inf)
    else:
        m = as_float_array(m, name)
    try:
        np.broadcast_shapes(m.shape, (L, S))
    except ValueError:
        raise ValueError(f"{name} must broadcast to (..., L, S) = (..., {L}, {S}), got shape {m.shape}") from None
    return m


def _check_qkv(query, key, value):
    q, k, v = (as_float_array(a, n) for a, n in ((query, "query"), (key, "key"), (value, "value")))
    for a, n in ((q, "query"), (k, "key"), (v, "value")):
        if a.ndim < 2:
            raise ValueError(f"{n} must have shape (..., length, features), got {a.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"query and key must have the same feature size E, got query {q.shape} and key {k.shape}")
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"key and value must have the same length S and all three the same batch dimensions, "
                         f"got query {q.shape}, key {k.shape}, value {v.shape}")
    return q, k, v


def attention_forward(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                      scale: float | None = None, rng=None):
    r"""Scaled dot-product attention, returning the output and a cache for :func:`attention_backward`.

    .. math::
        A = \mathrm{softmax}\!\left(s\, Q K^\top + M\right), \quad \text{out} = A V,
        \quad s = 1/\sqrt{E} \text{ by default}

    Parameters
    ----------
    query : ndarray, shape (..., L, E)
    key : ndarray, shape (..., S, E)
    value : ndarray, shape (..., S, E_v)
    attn_mask : None, bool or float ndarray broadcastable to (..., L, S)
        Boolean: ``True`` where the query **may** attend (torch's ``scaled_dot_product_attention``
        convention). Float: added to the scores.
    dropout_p : float
        Dropout on the weights :math:`A` (inverted, as torch's); 0 by default.
    is_causal : bool
        Query ``i`` sees only keys ``j <= i`` (:func:`causal_mask`). Not together with ``attn_mask``.
    scale : float, optional
        :math:`s`; default :math:`1/\sqrt{E}`.
    rng : None, int or numpy.random.Generator
        Draws the dropout mask.

    Returns
    -------
    out : ndarray, shape (..., L, E_v)
    cache : AttentionCache
        Holds the weights :math:`A` (``cache.weights``, shape ``(..., L, S)``).

    Unit 5, "Attention and transformers".
    """
    q, k, v = _check_qkv(query, key, value)
    p = check_dropout_p(dropout_p)
    L, S = q.shape[-2], k.shape[-2]
    if is_causal and attn_mask is not None:
        raise ValueError("pass either attn_mask or is_causal=True, not both (as torch); "
                         "combine them yourself with causal_mask(L, S) & attn_mask")
    mask = _additive(causal_mask(L, S) if is_causal else attn_mask, L, S) if (is_causal or attn_mask is not None) \
        else None
    s = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ np.swapaxes(k, -1, -2)) * s
    if mask is not None:
        scores = scores + mask
        blocked = np.all(np.isneginf(scores), axis=-1)
        if np.any(blocked):
            where = tuple(int(i) for i in np.argwhere(blocked)[0])
            raise ValueError(f"the mask blocks every key for the query at index {where}: softmax over no key is "
                             "undefined (torch returns NaN there); let each query attend to at least one key")
    weights = softmax(scores, axis=-1)
    keep = None
    if p > 0:
        keep = as_rng(rng).random(weights.shape) >= p
        out = (weights * keep / (1.0 - p)) @ v
    else:
        out = weights @ v
    return out, AttentionCache(q, k, v, weights, keep, p, s)


def attention_backward(grad_output, cache: AttentionCache) -> AttentionGrads:
    r"""Gradients of :func:`attention_forward` with respect to query, key and value.

    With :math:`G = \partial L / \partial\,\text{out}` and :math:`A` the weights:

    .. math::
        \frac{\partial L}{\partial V} = A^\top G, \quad
        \frac{\partial L}{\partial A} = G V^\top, \quad
        \frac{\partial L}{\partial Z} = A \odot \Big(\frac{\partial L}{\partial A}
            - \textstyle\sum_j \frac{\partial L}{\partial A_{\cdot j}} A_{\cdot j}\Big), \quad
        \frac{\partial L}{\partial Q} = s\, \frac{\partial L}{\partial Z} K, \quad
        \frac{\partial L}{\partial K} = s \Big(\frac{\partial L}{\partial Z}\Big)^{\!\top} Q

    where :math:`Z` are the (masked) scores. Masked positions have :math:`A = 0` and get no gradient.

    Parameters
    ----------
    grad_output : ndarray, shape (..., L, E_v)
    cache : AttentionCache

    Returns
    -------
    AttentionGrads
        Fields ``query, key, value``, each of its input's shape.
    """
    if not isinstance(cache, AttentionCache):
        raise TypeError(f"cache must be the AttentionCache returned by attention_forward, got {type(cache).__name__}")
    q, k, v, a, keep, p, s = cache
    g = as_float_array(grad_output, "grad_output")
    expected = a.shape[:-1] + (v.shape[-1],)
    if g.shape != expected:
        raise ValueError(f"grad_output must have the output's shape {expected}, got {g.shape}")
    used = a if keep is None else a * keep / (1.0 - p)
    dv = np.swapaxes(used, -1, -2) @ g
    da = g @ np.swapaxes(v, -1, -2)
    if keep is not None:
        da = da * keep / (1.0 - p)
    dz = softmax_backward(da, a, axis=-1) * s
    return AttentionGrads(dz @ k, np.swapaxes(dz, -1, -2) @ q, dv)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, rng=None) -> np.ndarray:
    r"""The output of :func:`attention_forward` alone, as ``torch.nn.functional.scaled_dot_product_attention``.

    .. math:: \text{out} = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{E}} + M\right) V

    A boolean ``attn_mask`` is ``True`` where a query may attend. Shapes and arguments: see
    :func:`attention_forward`.
    """
    return attention_forward(query, key, value, attn_mask, dropout_p, is_causal, scale, rng)[0]


# --------------------------------------------------------------------------- multi-head attention
class MHACache(NamedTuple):
    inputs: tuple          # query, key, value, batch first (N, L, E), (N, S, E), (N, S, E)
    heads: AttentionCache  # the attention of the projected heads, (N, h, L, d)
    concat: np.ndarray     # heads side by side, (N, L, E)
    layout: tuple          # (batch_first, unbatched)


def load_named(layer: Module, module) -> None:
    """Copy the parameters of a torch module by their (dotted) names, e.g. ``out_proj.weight``."""
    theirs = dict(module.named_parameters())
    sources = {}
    for name, value in layer.params.items():
        if name not in theirs:
            raise ValueError(f"the torch module {type(module).__name__} has no parameter {name!r} "
                             f"(it has {sorted(theirs)})")
        src = theirs[name].detach().cpu().double().numpy()
        if src.shape != value.shape:
            raise ValueError(f"parameter {name!r} must have shape {value.shape}, the torch module's has {src.shape}")
        sources[name] = src
    for name, src in sources.items():  # copy only once every parameter matched
        layer.params[name][...] = src


class MultiheadAttention(Module):
    r"""Multi-head attention, as ``torch.nn.MultiheadAttention``.

    .. math::
        \text{head}_i = \mathrm{Attention}(Q W_i^Q + b_i^Q,\; K W_i^K + b_i^K,\; V W_i^V + b_i^V), \qquad
        \text{out} = [\text{head}_1, \dots, \text{head}_h]\, W^O{}^\top + b^O

    Each head attends in its own subspace of size :math:`d = E / h`.

    Parameters
    ----------
    embed_dim : int
        :math:`E`, the size of queries, keys, values and output.
    num_heads : int
        :math:`h`; must divide ``embed_dim``.
    dropout : float
        Dropout on the attention weights in training mode (as torch); 0 by default.
    bias : bool
        Biases on the input and output projections (default True).
    batch_first : bool
        Inputs and output ``(N, L, E)`` if True, ``(L, N, E)`` if False (torch's default).
        A 2-D input ``(L, E)`` is one unbatched sequence.
    rng : None, int or numpy.random.Generator
        Initial weights as torch draws them (Glorot-uniform ``in_proj_weight``, ``out_proj.weight``
        :math:`\mathcal U(-1/\sqrt E, 1/\sqrt E)`, zero biases) and the dropout masks.

    Parameters (``params``, torch's names): ``in_proj_weight`` ``(3E, E)`` (the rows of
    :math:`W^Q`, :math:`W^K`, :math:`W^V` stacked), ``in_proj_bias`` ``(3E,)``, ``out_proj.weight``
    ``(E, E)``, ``out_proj.bias`` ``(E,)``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(attn_output, attn_weights)``, the
    weights averaged over the heads ``(N, L, S)`` (or per head ``(N, h, L, S)`` with
    ``average_attn_weights=False``; ``None`` with ``need_weights=False``).
    ``backward(grad_output)`` returns ``(grad_query, grad_key, grad_value)`` (for
    self-attention, where one array is all three, add them up).

    Notes
    -----
    Masks follow torch's ``MultiheadAttention``: a boolean ``attn_mask`` ``(L, S)`` or
    ``(N*h, L, S)`` and ``key_padding_mask`` ``(N, S)`` are ``True`` where attention is **not**
    allowed — the opposite of :func:`scaled_dot_product_attention`'s boolean mask. Float masks
    are added to the scores. ``is_causal=True`` without ``attn_mask`` applies the causal mask
    (torch requires the mask itself and treats the flag as a hint). Unit 5, "Multi-head attention".

    References
    ----------
    Vaswani et al., "Attention is all you need", NeurIPS 2017.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, rng=None):
        super().__init__()
        E = self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        h = self.num_heads = check_positive_int(num_heads, "num_heads")
        if E % h:
            raise ValueError(f"embed_dim must be divisible by num_heads, got embed_dim={E} and num_heads={h}")
        self.head_dim = E // h
        self.dropout = check_dropout_p(dropout)
        self.batch_first = bool(batch_first)
        self.rng = as_rng(rng)
        glorot = np.sqrt(6.0 / (E + 3 * E))
        self._add_param("in_proj_weight", self.rng.uniform(-glorot, glorot, (3 * E, E)))
        if bias:
            self._add_param("in_proj_bias", np.zeros(3 * E))
        self._add_param("out_proj.weight", self.rng.uniform(-1 / np.sqrt(E), 1 / np.sqrt(E), (E, E)))
        if bias:
            self._add_param("out_proj.bias", np.zeros(E))

    def load_torch(self, module) -> None:
        """Copy ``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias`` of a torch module."""
        if getattr(module, "in_proj_weight", None) is None:
            raise ValueError("the torch MultiheadAttention must have kdim = vdim = embed_dim (one in_proj_weight)")
        if getattr(module, "bias_k", None) is not None:
            raise ValueError("the torch MultiheadAttention must have add_bias_kv=False")
        load_named(self, module)

    def __call__(self, query, key, value, **kwargs):
        return self.forward(query, key, value, **kwargs)

    def _batch_first(self, x, name):
        x = as_float_array(x, name)
        if x.ndim not in (2, 3) or x.shape[-1] != self.embed_dim:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"{name} must have shape {layout} with E = {self.embed_dim} (batch_first="
                             f"{self.batch_first}), or (L, E) unbatched, got {x.shape}")
        if x.ndim == 2:
            return x[None]
        return x if self.batch_first else x.transpose(1, 0, 2)

    def _mask(self, key_padding_mask, attn_mask, is_causal, N, L, S):
        """One float mask (N, h, L, S) or broadcastable, added to the scores; None if nothing is masked."""
        parts = []
        if attn_mask is None and is_causal:
            attn_mask = ~causal_mask(L, S)
        if attn_mask is not None:
            m = _additive(attn_mask, L, S, "attn_mask", true_means_allowed=False)
            if m.ndim == 3:
                if m.shape[0] != N * self.num_heads:
                    raise ValueError(f"a 3-D attn_mask must have shape (N*num_heads, L, S) = "
                                     f"({N * self.num_heads}, {L}, {S}), got {m.shape}")
                m = m.reshape(N, self.num_heads, L, S)
            parts.append(m)
        if key_padding_mask is not None:
            k = np.asarray(key_padding_mask)
            if k.ndim == 1:
                k = k[None]
            if k.shape != (N, S):
                raise ValueError(f"key_padding_mask must have shape (N, S) = ({N}, {S}), got {k.shape}")
            parts.append(_additive(k, 1, S, "key_padding_mask", true_means_allowed=False)[:, None, None, :])
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]

    def _split(self, x, W, b):
        N, T, _ = x.shape
        y = x.reshape(N * T, -1) @ W.T
        if b is not None:
            y += b
        return y.reshape(N, T, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        unbatched = np.ndim(query) == 2
        q_in, k_in, v_in = (self._batch_first(x, n) for x, n in ((query, "query"), (key, "key"), (value, "value")))
        N, L, E = q_in.shape
        if k_in.shape != v_in.shape or k_in.shape[0] != N:
            raise ValueError(f"key and value must have the same shape, with the query's batch size {N}, "
                             f"got key {np.shape(key)} and value {np.shape(value)}")
        S = k_in.shape[1]
        W, b = self.params["in_proj_weight"], self.params.get("in_proj_bias")
        parts = [(W[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E]) for i in range(3)]
        q, k, v = (self._split(x, *wb) for x, wb in zip((q_in, k_in, v_in), parts))
        mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S)
        p = self.dropout if self.training else 0.0
        heads, cache = attention_forward(q, k, v, mask, dropout_p=p, rng=self.rng)
        concat = heads.transpose(0, 2, 1, 3).reshape(N, L, E)
        out = concat @ self.params["out_proj.weight"].T
        if "out_proj.bias" in self.params:
            out += self.params["out_proj.bias"]
        self._cache = MHACache((q_in, k_in, v_in), cache, concat, (self.batch_first, unbatched))
        weights = None
        if need_weights:
            weights = cache.weights.mean(axis=1) if average_attn_weights else cache.weights
            weights = weights[0] if unbatched else weights
        return self._layout(out, unbatched), weights

    def _layout(self, x, unbatched):
        if unbatched:
            return x[0]
        return x if self.batch_first else x.transpose(1, 0, 2)

    def backward(self, grad_output):
        (q_in, k_in, v_in), cache, concat, (_, unbatched) = self._require_cache()
        N, L, E = q_in.shape
        expected = np.shape(self._layout(np.empty((N, L, E)), unbatched))
        g = as_float_array(grad_output, "grad_output")
        if g.shape != expected:
            raise ValueError(f"grad_output must have the output's shape {expected}, got {g.shape}")
        g = g[None] if unbatched else (g if self.batch_first else g.transpose(1, 0, 2))
        g2 = g.reshape(N * L, E)
        self.grads["out_proj.weight"] += g2.T @ concat.reshape(N * L, E)
        if "out_proj.bias" in self.grads:
            self.grads["out_proj.bias"] += g2.sum(axis=0)
        d_heads = (g2 @ self.params["out_proj.weight"]).reshape(N, L, self.num_heads, self.head_dim)
        grads = attention_backward(d_heads.transpose(0, 2, 1, 3), cache)
        W = self.params["in_proj_weight"]
        d_inputs = []
        for i, (x, d) in enumerate(zip((q_in, k_in, v_in), grads)):
            d2 = d.transpose(0, 2, 1, 3).reshape(-1, E)          # (N*T, E), the heads side by side
            self.grads["in_proj_weight"][i * E:(i + 1) * E] += d2.T @ x.reshape(-1, E)
            if "in_proj_bias" in self.grads:
                self.grads["in_proj_bias"][i * E:(i + 1) * E] += d2.sum(axis=0)
            d_inputs.append(self._layout((d2 @ W[i * E:(i + 1) * E]).reshape(x.shape), unbatched))
        return tuple(d_inputs)

    def __repr__(self) -> str:
        return (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first})")
