r"""Stochastic gradient descent with momentum and Nesterov momentum (Unit 3, "Momentum")."""

from __future__ import annotations

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    Unit 3, "Gradient descent" and "Momentum".

    .. math::
        \begin{aligned}
        &g \leftarrow \nabla f(\theta) + \lambda \theta \\
        &\textbf{if } \mu \neq 0: \\
        &\qquad b \leftarrow g \ \text{(first step)}, \quad
               b \leftarrow \mu b + (1 - \tau) g \ \text{(later steps)} \\
        &\qquad g \leftarrow g + \mu b \ \text{(nesterov)}, \quad g \leftarrow b \ \text{(otherwise)} \\
        &\theta \leftarrow \theta - \gamma g
        \end{aligned}

    with :math:`\gamma` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` = ``dampening``,
    :math:`\lambda` = ``weight_decay``.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate :math:`\gamma \ge 0` (default ``1e-3``, torch's).
    momentum : float
        Momentum factor :math:`\mu \ge 0` (default 0: plain gradient descent).
    dampening : float
        Dampening :math:`\tau` of the gradient added to the buffer (default 0).
    weight_decay : float
        L2 penalty :math:`\lambda \ge 0` added to the gradient (default 0).
    nesterov : bool
        Nesterov momentum: step along :math:`g + \mu b` (needs momentum > 0, dampening 0).

    Attributes
    ----------
    state : list of dict
        ``state[i]["momentum_buffer"]``: the buffer :math:`b` of ``params[i]`` (momentum only).

    Notes
    -----
    Three conventions for momentum are in use. Torch's, used here, keeps the learning
    rate out of the buffer:

    .. math:: v \leftarrow \mu v + g, \qquad w \leftarrow w - \gamma v.

    The lecture notes put it inside the buffer:

    .. math:: v \leftarrow \gamma_{\text{notes}} v + \eta \nabla f, \qquad w \leftarrow w - v,

    and others use an exponential moving average:

    .. math:: v \leftarrow \beta v + (1 - \beta) \nabla f, \qquad w \leftarrow w - \alpha v.

    With a constant learning rate the three give the same trajectory once the learning
    rate is rescaled: the notes' :math:`(\gamma_{\text{notes}}, \eta)` is torch's
    :math:`(\mu, \gamma) = (\gamma_{\text{notes}}, \eta)` (the notes' buffer is
    :math:`\eta` times torch's), and the EMA's :math:`(\beta, \alpha)`, started at
    :math:`v = 0`, is torch's :math:`(\mu, \gamma) = (\beta, (1 - \beta)\alpha)` (the
    EMA is :math:`1 - \beta` times torch's buffer). ``dampening=beta`` with ``lr=alpha``
    gives the EMA started at :math:`v = g` instead, since torch's first buffer is the
    undamped gradient. With a schedule that changes :math:`\gamma`, torch's convention
    applies the new rate to the whole buffer at once, the notes' only to new gradients.

    References
    ----------
    Sutskever, Martens, Dahl and Hinton (2013), "On the importance of initialization and
    momentum in deep learning", ICML.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": bool(nesterov)})

    def _check_group(self, group, prefix):
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            where = "" if prefix is None else (f" ({prefix.rstrip('.')}: nesterov=True, momentum="
                                              f"{group['momentum']!r}, dampening={group['dampening']!r}; "
                                              f"expected momentum > 0 and dampening 0)")
            raise ValueError("Nesterov momentum requires a momentum and zero dampening" + where)

    def update(self, param, grad, state):
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad
