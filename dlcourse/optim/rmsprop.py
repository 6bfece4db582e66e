r"""RMSprop: a moving average of squared gradients scales each step (Unit 3, "RMSprop")."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, optionally centred and with momentum, as ``torch.optim.RMSprop``.

    Unit 3, "Adaptive learning rates: RMSprop".

    .. math::
        \begin{aligned}
        &g \leftarrow \nabla f(\theta) + \lambda \theta \\
        &v \leftarrow \alpha v + (1 - \alpha) g^2 \\
        &\textbf{if centered: } \bar g \leftarrow \alpha \bar g + (1 - \alpha) g, \quad
            d \leftarrow \sqrt{v - \bar g^2} + \epsilon
         \quad \textbf{else: } d \leftarrow \sqrt{v} + \epsilon \\
        &\textbf{if } \mu > 0: \ b \leftarrow \mu b + g / d, \quad \theta \leftarrow \theta - \gamma b \\
        &\textbf{else: } \theta \leftarrow \theta - \gamma\, g / d
        \end{aligned}

    with :math:`\gamma` = ``lr``, :math:`\alpha` = ``alpha``, :math:`\mu` = ``momentum``,
    :math:`\lambda` = ``weight_decay``; all elementwise.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate (default 0.01).
    alpha : float
        Smoothing constant of the average of squares (default 0.99).
    eps : float
        Added to the root for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty added to the gradient (default 0).
    momentum : float
        Momentum factor applied to the scaled step (default 0).
    centered : bool
        Divide by an estimate of the gradient's standard deviation instead of its root
        mean square (default False).

    Attributes
    ----------
    state : list of dict
        ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (:math:`b`, if momentum
        > 0) and ``grad_avg`` (:math:`\bar g`, if centered).

    Notes
    -----
    The lecture notes write the step as :math:`\eta\, g / \sqrt{v + \epsilon}`; torch adds
    :math:`\epsilon` outside the root. The moving average starts at zero and is not
    bias-corrected (Adam adds the correction).

    References
    ----------
    Hinton, Srivastava and Swersky (2012), Neural Networks for Machine Learning, lecture 6e.
    Graves (2013), "Generating sequences with recurrent neural networks", arXiv:1308.0850
    (the centred variant).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": bool(centered)})

    def _init_state(self, state: dict, param: np.ndarray) -> None:
        state["step"] = 0
        state["square_avg"] = np.zeros(param.shape)
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros(param.shape)
        if self.centered:
            state["grad_avg"] = np.zeros(param.shape)

    def update(self, param, grad, state):
        if not state:
            self._init_state(state, param)
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        square_avg += ((1 - self.alpha) * grad) * grad
        if self.centered:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - self.alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad / avg
            param -= self.lr * buf
        else:
            param += (-self.lr * grad) / avg
