r"""Gradient clipping, as ``torch.nn.utils`` (Unit 3, "Exploding gradients and clipping")."""

from __future__ import annotations

import numpy as np

from .._validate import check_number

__all__ = ["clip_grad_value", "clip_grad_norm"]


def _check_grads(grads) -> list[np.ndarray]:
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads must be a list of arrays (clipped in place), got {type(grads).__name__}; "
                        "wrap a single array in a list: [g]")
    for i, g in enumerate(grads):
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            kind = g.dtype if isinstance(g, np.ndarray) else type(g).__name__
            raise TypeError(f"grads[{i}] must be a float numpy array (clipped in place), got {kind}")
    return list(grads)


def clip_grad_value(grads, clip_value: float) -> None:
    r"""Clip every gradient entry to :math:`[-c, c]`, in place, as ``torch.nn.utils.clip_grad_value_``.

    .. math:: g_i \leftarrow \min(\max(g_i, -c), c)

    Parameters
    ----------
    grads : list of numpy.ndarray
        Float gradient arrays, modified in place.
    clip_value : float
        The bound :math:`c \ge 0`.

    Notes
    -----
    Clipping each entry separately changes the gradient's direction; :func:`clip_grad_norm`
    keeps it. Torch accepts a negative ``clip_value`` (and then sets every entry to it);
    here it is an error.
    """
    grads = _check_grads(grads)
    c = check_number(clip_value, "clip_value", low=0.0)
    for g in grads:
        np.clip(g, -c, c, out=g)


def clip_grad_norm(grads, max_norm: float) -> float:
    r"""Rescale all gradients together so that their total norm is at most ``max_norm``, in place.

    As ``torch.nn.utils.clip_grad_norm_`` with ``norm_type=2``:

    .. math::
        N = \sqrt{\textstyle\sum_k \|g_k\|^2}, \qquad
        g_k \leftarrow g_k \min\!\left(1, \frac{M}{N + 10^{-6}}\right)

    Parameters
    ----------
    grads : list of numpy.ndarray
        Float gradient arrays, modified in place (all by the same factor).
    max_norm : float
        The largest total norm :math:`M \ge 0`.

    Returns
    -------
    float
        The total norm :math:`N` *before* clipping (log it: spikes show exploding gradients).

    Notes
    -----
    The norm is over all arrays at once, as if they were concatenated into one vector, so
    the direction of the full gradient is kept. The :math:`10^{-6}` avoids a division by
    zero, and makes the clipped norm slightly less than :math:`M`.
    """
    grads = _check_grads(grads)
    max_norm = check_number(max_norm, "max_norm", low=0.0)
    if not grads:
        return 0.0
    norms = np.array([np.linalg.norm(g.ravel()) for g in grads])
    total_norm = float(np.linalg.norm(norms))
    coef = min(max_norm / (total_norm + 1e-6), 1.0)
    for g in grads:
        g *= coef
    return total_norm
