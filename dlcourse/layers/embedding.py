r"""Token embeddings and sinusoidal positional encodings (Unit 5, "Attention and transformers").

An :class:`Embedding` is a table with one learned row per token: looking a token up is the
same as multiplying its one-hot vector by the table, so the gradient of a row is the sum of
the output gradients of every place the token was used. Attention itself ignores the order
of its inputs, so a Transformer adds a *positional encoding* to each token's embedding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_rng, check_number, check_positive_int
from .module import Module

__all__ = ["Embedding", "sinusoidal_positional_encoding"]


class EmbeddingCache(NamedTuple):
    indices: np.ndarray


class Embedding(Module):
    r"""A lookup table of ``num_embeddings`` vectors, as ``torch.nn.Embedding``.

    .. math:: y_{\ldots} = W_{i_{\ldots}}, \qquad
              \frac{\partial L}{\partial W_k} = \sum_{\text{positions with } i = k} \frac{\partial L}{\partial y}

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size :math:`V`.
    embedding_dim : int
        Size :math:`D` of each vector.
    padding_idx : int, optional
        A token whose row is zero and receives no gradient (as torch).
    rng : None, int or numpy.random.Generator
        Initial rows drawn from :math:`\mathcal N(0, 1)`, as torch's.

    Shapes: ``weight`` ``(V, D)``; ``forward(indices)`` takes integers of any shape ``(*)`` and
    returns ``(*, D)``; ``backward(grad_out)`` (shape ``(*, D)``) accumulates into
    ``grads["weight"]`` and returns ``None`` (integers have no gradient).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, rng=None):
        super().__init__()
        V = self.num_embeddings = check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
                    or not -V <= padding_idx < V:
                raise ValueError(f"padding_idx must be an integer in [-{V}, {V}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % V
        self.padding_idx = padding_idx
        self._add_param("weight", as_rng(rng).standard_normal((V, self.embedding_dim)))
        if padding_idx is not None:
            self.params["weight"][padding_idx] = 0.0

    def forward(self, indices):
        idx = np.asarray(indices)
        if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be an array of integers (token ids), got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx[(idx < 0) | (idx >= self.num_embeddings)][0]
            raise ValueError(f"indices must be in [0, {self.num_embeddings}) for Embedding({self.num_embeddings}, "
                             f"{self.embedding_dim}), got {bad}")
        self._cache = EmbeddingCache(idx)
        return self.params["weight"][idx]

    def backward(self, grad_out):
        (idx,) = self._require_cache()
        g = np.asarray(grad_out, dtype=np.float64)
        expected = idx.shape + (self.embedding_dim,)
        if g.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {g.shape}")
        flat_idx, flat_g = idx.reshape(-1), g.reshape(-1, self.embedding_dim)
        if self.padding_idx is not None:
            keep = flat_idx != self.padding_idx
            flat_idx, flat_g = flat_idx[keep], flat_g[keep]
        np.add.at(self.grads["weight"], flat_idx, flat_g)
        return None

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


def sinusoidal_positional_encoding(max_len: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    r"""The fixed positional encoding of the original Transformer.

    .. math::
        PE_{t, 2i} = \sin\!\big(t / \text{base}^{2i/d}\big), \qquad
        PE_{t, 2i+1} = \cos\!\big(t / \text{base}^{2i/d}\big)

    Each pair of columns is a sine and a cosine of one frequency, from one turn per
    :math:`2\pi` positions (column 0) down to one per :math:`2\pi \cdot \text{base}`; so
    :math:`PE_{t+k}` is a rotation of :math:`PE_t` that depends only on :math:`k`.

    Parameters
    ----------
    max_len : int
        Number of positions :math:`t = 0, \dots, \text{max\_len} - 1`.
    d_model : int
        Size :math:`d` of each encoding (odd sizes drop the last cosine).
    base : float
        10000 in the paper.

    Returns
    -------
    ndarray, shape (max_len, d_model)
        Added to the token embeddings (``(T, d)`` broadcasts over a batch).

    References
    ----------
    Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.5.
    """
    T = check_positive_int(max_len, "max_len")
    d = check_positive_int(d_model, "d_model")
    base = check_number(base, "base", low=1.0, low_open=True)
    angles = np.arange(T)[:, None] / base ** (np.arange(0, d, 2) / d)     # (T, ceil(d/2))
    pe = np.empty((T, d))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, :d // 2])
    return pe
