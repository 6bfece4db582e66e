r"""Adagrad: per-coordinate learning rates from the sum of squared gradients (Unit 3, "Adagrad")."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    Unit 3, "Adaptive learning rates: Adagrad".

    .. math::
        \begin{aligned}
        &t \leftarrow t + 1 \\
        &g \leftarrow \nabla f(\theta) + \lambda \theta \\
        &\tilde\gamma \leftarrow \gamma / (1 + (t - 1)\,\eta) \\
        &s \leftarrow s + g^2 \\
        &\theta \leftarrow \theta - \tilde\gamma\, g / (\sqrt{s} + \epsilon)
        \end{aligned}

    with :math:`\gamma` = ``lr``, :math:`\eta` = ``lr_decay``, :math:`\lambda` =
    ``weight_decay``, :math:`s` starting at ``initial_accumulator_value``; squares, roots
    and divisions are elementwise.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate (default 0.01).
    lr_decay : float
        Inverse-time decay of the learning rate with the step count (default 0).
    weight_decay : float
        L2 penalty added to the gradient (default 0).
    initial_accumulator_value : float
        Starting value of the sum of squares (default 0).
    eps : float
        Added to the root for numerical stability (default 1e-10).

    Attributes
    ----------
    state : list of dict
        ``state[i]["sum"]`` (the accumulator :math:`s`) and ``state[i]["step"]`` (:math:`t`),
        created at construction as torch does.

    Notes
    -----
    The accumulator only grows, so the effective learning rate
    :math:`\gamma/\sqrt{s}` only shrinks: good for sparse features, too cautious late in a
    long run (the motivation for RMSprop and Adadelta). Torch adds :math:`\epsilon`
    outside the root; some texts write :math:`\sqrt{s + \epsilon}`. As in torch, the
    accumulator starts at the constructor's ``initial_accumulator_value`` for every parameter
    group, even one that sets its own.

    References
    ----------
    Duchi, Hazan and Singer (2011), "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 12.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps})

    def _initial_state(self, param, group):
        # torch fills the accumulator with the constructor's value, even for a group that sets its own
        return {"step": 0, "sum": np.full(param.shape, float(self.defaults["initial_accumulator_value"]))}

    def update(self, param, grad, state):
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        std = np.sqrt(state["sum"]) + self.eps
        param += (-clr * grad) / std
