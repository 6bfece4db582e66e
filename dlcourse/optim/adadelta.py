r"""Adadelta: RMSprop with the units fixed by a second average (Unit 3, "Adadelta")."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _invalid, _label

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, as ``torch.optim.Adadelta``.

    Unit 3, "Adaptive learning rates: Adadelta".

    .. math::
        \begin{aligned}
        &g \leftarrow \nabla f(\theta) + \lambda \theta \\
        &v \leftarrow \rho v + (1 - \rho) g^2 \\
        &\Delta \leftarrow \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g \\
        &u \leftarrow \rho u + (1 - \rho) \Delta^2 \\
        &\theta \leftarrow \theta - \gamma \Delta
        \end{aligned}

    with :math:`\gamma` = ``lr``, :math:`\rho` = ``rho``, :math:`\lambda` =
    ``weight_decay``; all elementwise.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Scale applied to the step (default 1.0, as in the paper, which has no learning rate).
    rho : float
        Decay of both moving averages, in [0, 1] (default 0.9).
    eps : float
        Added inside both roots (default 1e-6); it also sets the size of the first steps.
    weight_decay : float
        L2 penalty added to the gradient (default 0).

    Attributes
    ----------
    state : list of dict
        ``step``, ``square_avg`` (:math:`v`) and ``acc_delta`` (:math:`u`).

    Notes
    -----
    The ratio :math:`\sqrt{u}/\sqrt{v}` has the units of :math:`\theta` over those of
    :math:`g` (as a Newton step does), so no learning rate is needed. Since :math:`u`
    starts at zero, the first steps are about :math:`\sqrt{\epsilon}` in size.

    References
    ----------
    Zeiler (2012), "ADADELTA: an adaptive learning rate method", arXiv:1212.5701.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group, prefix):
        if not group["rho"] <= 1.0:
            raise _invalid("rho", group["rho"], "in [0, 1]", _label(prefix, "rho"))

    def update(self, param, grad, state):
        if not state:
            state.update(step=0, square_avg=np.zeros(param.shape), acc_delta=np.zeros(param.shape))
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= self.rho
        square_avg += ((1 - self.rho) * grad) * grad
        std = np.sqrt(square_avg + self.eps)
        delta = np.sqrt(acc_delta + self.eps) / std * grad
        acc_delta *= self.rho
        acc_delta += ((1 - self.rho) * delta) * delta
        param -= self.lr * delta
