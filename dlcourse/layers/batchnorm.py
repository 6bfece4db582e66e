r"""Batch normalization over a mini-batch (Unit 4, "Batch normalization")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_number, check_positive_int
from .module import Module


class BatchNormCache(NamedTuple):
    x_hat: np.ndarray     # normalized input, the input's shape
    inv_std: np.ndarray   # 1 / sqrt(var + eps), shape (1, C) or (1, C, 1)
    batch_stats: bool     # True if normalized with the batch's own statistics


class BatchNorm1d(Module):
    r"""Batch normalization, as ``torch.nn.BatchNorm1d``.

    .. math::
        \mu_c = \frac{1}{m}\sum_i x_{ic}, \quad
        \sigma_c^2 = \frac{1}{m}\sum_i (x_{ic} - \mu_c)^2, \quad
        \hat{x}_{ic} = \frac{x_{ic} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \quad
        y_{ic} = \gamma_c \hat{x}_{ic} + \beta_c

    where :math:`i` runs over the :math:`m` values of channel :math:`c` in the batch
    (``N`` of them for ``(N, C)`` input, ``N·L`` for ``(N, C, L)``). In training mode
    the running estimates are updated as

    .. math::
        \hat\mu \leftarrow (1 - \text{momentum})\,\hat\mu + \text{momentum}\,\mu, \quad
        \hat\sigma^2 \leftarrow (1 - \text{momentum})\,\hat\sigma^2
        + \text{momentum}\,\tfrac{m}{m - 1}\sigma^2

    and eval mode normalizes with :math:`\hat\mu, \hat\sigma^2` instead. The backward
    pass in training mode, with :math:`g = \gamma\,\partial L/\partial y`, is the compact

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{m\sqrt{\sigma^2 + \epsilon}}
        \Big(m\,g - \textstyle\sum_i g_i - \hat{x}\sum_i g_i \hat{x}_i\Big), \quad
        \frac{\partial L}{\partial \gamma} = \textstyle\sum_i \frac{\partial L}{\partial y_i}\hat{x}_i, \quad
        \frac{\partial L}{\partial \beta} = \textstyle\sum_i \frac{\partial L}{\partial y_i}

    Parameters
    ----------
    num_features : int
        Number of channels ``C``.
    eps : float
        Added to the variance for stability (default 1e-5; 0 is allowed, as in torch).
    momentum : float or None
        Weight of the new batch in the running estimates (default 0.1); ``None`` gives
        the cumulative average over all batches seen, as in torch.
    affine : bool
        Whether to learn ``weight`` (γ, initialized to 1) and ``bias`` (β, to 0).
    track_running_stats : bool
        If False there are no running estimates and eval mode also uses batch statistics.

    Shapes: ``weight`` and ``bias`` ``(C,)``; input and output ``(N, C)`` or ``(N, C, L)``.
    Buffers ``running_mean`` (zeros) and ``running_var`` (ones), shape ``(C,)``.

    Notes
    -----
    As in torch, the *biased* variance (divide by :math:`m`) normalizes the batch and
    the *unbiased* one (divide by :math:`m - 1`) enters the running estimate. torch's
    ``momentum`` is the weight of the *new* value, the opposite of the usual
    exponential-moving-average "decay" (``momentum = 0.1`` is decay 0.9).

    References
    ----------
    Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift", ICML 2015.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_number(eps, "eps", low=0.0)
        self.momentum = None if momentum is None else check_number(momentum, "momentum", low=0.0, high=1.0)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        if self.affine:
            self._add_param("weight", np.ones(self.num_features))
            self._add_param("bias", np.zeros(self.num_features))
        self.running_mean = np.zeros(self.num_features) if self.track_running_stats else None
        self.running_var = np.ones(self.num_features) if self.track_running_stats else None
        self.num_batches_tracked = 0

    @property
    def weight(self) -> np.ndarray | None:
        return self.params.get("weight")

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def _check_input(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim not in (2, 3):
            raise ValueError(f"x must be 2-D (N, C) or 3-D (N, C, L), got shape {x.shape} ({x.ndim}-D)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} channels in dimension 1 for "
                             f"BatchNorm1d({self.num_features}), got shape {x.shape}")
        return x

    def _view(self, v: np.ndarray, ndim: int) -> np.ndarray:
        """A per-channel vector shaped to broadcast against the input: (1, C) or (1, C, 1)."""
        return v.reshape((1, -1) + (1,) * (ndim - 2))

    def forward(self, x):
        x = self._check_input(x)
        axes = (0,) if x.ndim == 2 else (0, 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            m = x.size // self.num_features
            if self.training and m < 2:
                raise ValueError(f"BatchNorm1d needs more than 1 value per channel when training, "
                                 f"got input of shape {x.shape}; use a batch of at least 2 or eval()")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            if self.training and self.track_running_stats:
                self._update_running(mean, var * m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = self._view(1.0 / np.sqrt(var + self.eps), x.ndim)
        x_hat = (x - self._view(mean, x.ndim)) * inv_std
        self._cache = BatchNormCache(x_hat, inv_std, use_batch)
        if not self.affine:
            return x_hat
        return x_hat * self._view(self.params["weight"], x.ndim) + self._view(self.params["bias"], x.ndim)

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        f = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean *= 1.0 - f
        self.running_mean += f * mean
        self.running_var *= 1.0 - f
        self.running_var += f * unbiased_var

    def backward(self, grad_out):
        x_hat, inv_std, batch_stats = self._require_cache()
        g = as_float_array(grad_out, "grad_out")
        if g.shape != x_hat.shape:
            raise ValueError(f"grad_out must have the output's shape {x_hat.shape}, got {g.shape}")
        axes = (0,) if g.ndim == 2 else (0, 2)
        if self.affine:
            self.grads["weight"] += np.sum(g * x_hat, axis=axes)
            self.grads["bias"] += np.sum(g, axis=axes)
            g = g * self._view(self.params["weight"], g.ndim)
        if not batch_stats:
            return g * inv_std
        m = g.size // self.num_features
        sum_g = np.sum(g, axis=axes, keepdims=True)
        sum_gx = np.sum(g * x_hat, axis=axes, keepdims=True)
        return inv_std / m * (m * g - sum_g - x_hat * sum_gx)

    def load_torch(self, module) -> None:
        """Copy ``weight``, ``bias`` and the running statistics of a ``torch.nn.BatchNorm1d``.

        Nothing is copied unless every parameter and buffer matches in name and shape.
        """
        buffers = {}
        if self.track_running_stats:
            for name in ("running_mean", "running_var"):
                src = getattr(module, name, None)
                if src is None:
                    raise ValueError(f"the torch module {type(module).__name__} has no {name} "
                                     "(built with track_running_stats=False?); build this layer with "
                                     "track_running_stats=False too")
                buffers[name] = src.detach().cpu().double().numpy()
                if buffers[name].shape != (self.num_features,):
                    raise ValueError(f"{name} must have shape ({self.num_features},), "
                                     f"the torch module's has {buffers[name].shape}")
        super().load_torch(module)
        for name, src in buffers.items():
            getattr(self, name)[...] = src
        if buffers:
            self.num_batches_tracked = int(module.num_batches_tracked)

    def __repr__(self):
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats})")
