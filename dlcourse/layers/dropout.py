r"""Inverted dropout (Unit 4, "Dropout")."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng
from .module import Module


class DropoutCache(NamedTuple):
    mask: np.ndarray | None  # 1 where a unit is kept, 0 where dropped; None in eval mode
    scale: float             # 1 / (1 - p)
    shape: tuple             # the input's shape


def check_dropout_p(p) -> float:
    """Validate a dropout probability: a real number in ``[0, 1)``, with torch's message."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"dropout probability must be a real number, got {type(p).__name__} {p!r}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p} "
                         "(dlcourse needs 0 <= p < 1: p = 1 drops every unit and the rescaling "
                         "1/(1 - p) divides by zero)")
    return float(p)


class Dropout(Module):
    r"""Inverted dropout, as ``torch.nn.Dropout``.

    In training mode each element is kept with probability :math:`1 - p` and
    the kept ones are scaled by :math:`1/(1 - p)`, so that the expected output
    equals the input; in eval mode the layer is the identity.

    .. math::
        m_i \sim \mathrm{Bernoulli}(1 - p), \qquad
        y_i = \frac{m_i\, x_i}{1 - p}, \qquad
        \frac{\partial L}{\partial x_i} = \frac{m_i}{1 - p}\,\frac{\partial L}{\partial y_i}

    Parameters
    ----------
    p : float
        Probability of dropping an element, in ``[0, 1)`` (default 0.5).
    rng : None, int or numpy.random.Generator
        Source of the masks (seed it for reproducible masks).

    Shapes: input of any shape, output of the same shape. No parameters.

    Notes
    -----
    The lecture notes first present "standard" dropout, which scales by
    :math:`1 - p` at test time instead; torch and this layer use the *inverted*
    form, which rescales during training so that eval mode needs no change.
    torch accepts ``p = 1`` (all zeros); this layer refuses it. Taught in Unit 4,
    "Dropout".
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        self.p = check_dropout_p(p)
        self.rng = as_rng(rng)

    def forward(self, x, mask=None):
        """Apply dropout; ``mask`` (0/1 or bool, ``x``'s shape) fixes which units are kept.

        Without ``mask`` a fresh one is drawn from ``rng``. ``mask`` is used only in
        training mode (eval mode is the identity).
        """
        x = as_float_array(x, "x")
        if not self.training:
            self._cache = DropoutCache(None, 1.0, x.shape)
            return x.copy()
        keep = self._draw_mask(x.shape) if mask is None else self._check_mask(mask, x.shape)
        scale = 1.0 / (1.0 - self.p)
        self._cache = DropoutCache(keep, scale, x.shape)
        return x * keep * scale

    def _draw_mask(self, shape) -> np.ndarray:
        return (self.rng.random(shape) >= self.p).astype(np.float64)

    @staticmethod
    def _check_mask(mask, shape) -> np.ndarray:
        m = as_float_array(mask, "mask")
        if m.shape != shape:
            raise ValueError(f"mask must have the input's shape {shape}, got {m.shape}")
        if not np.all((m == 0.0) | (m == 1.0)):
            raise ValueError("mask must hold only 0 (dropped) and 1 (kept) or booleans, "
                             f"got values such as {m[(m != 0.0) & (m != 1.0)][0]}")
        return m

    def backward(self, grad_out):
        mask, scale, shape = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != shape:
            raise ValueError(f"grad_out must have the output's shape {shape}, got {g.shape}")
        return g.copy() if mask is None else g * mask * scale

    def __repr__(self):
        return f"Dropout(p={self.p})"
