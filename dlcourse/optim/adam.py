r"""Adam and AdamW: momentum plus RMSprop, bias-corrected (Unit 3, "Adam")."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _invalid, _label, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam, optionally AMSGrad, as ``torch.optim.Adam``.

    Unit 3, "Adam".

    .. math::
        \begin{aligned}
        &t \leftarrow t + 1 \\
        &g \leftarrow \nabla f(\theta) + \lambda \theta \\
        &m \leftarrow \beta_1 m + (1 - \beta_1) g \\
        &v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        &\textbf{if amsgrad: } v_{\max} \leftarrow \max(v_{\max}, v), \ v \text{ below read as } v_{\max} \\
        &\theta \leftarrow \theta - \frac{\gamma}{1 - \beta_1^t}\,
            \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}
        \end{aligned}

    with :math:`\gamma` = ``lr``, :math:`(\beta_1, \beta_2)` = ``betas``, :math:`\lambda` =
    ``weight_decay``; all elementwise.

    Parameters
    ----------
    params : list of numpy.ndarray
        Float arrays, updated in place.
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates of the first and second moment averages, each in [0, 1)
        (default (0.9, 0.999)).
    eps : float
        Added to the denominator (default 1e-8).
    weight_decay : float
        L2 penalty added to the gradient (default 0); see :class:`AdamW` for the decoupled form.
    amsgrad : bool
        Normalise by the largest second moment seen so far (default False).

    Attributes
    ----------
    state : list of dict
        ``step`` (:math:`t`), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`) and, with
        amsgrad, ``max_exp_avg_sq`` (:math:`v_{\max}`).

    Notes
    -----
    The lecture notes write the step with bias-corrected moments,
    :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`,
    :math:`\theta \leftarrow \theta - \gamma\, \hat m/(\sqrt{\hat v} + \epsilon)`; torch's
    arrangement above is the same number (up to round-off). With ``weight_decay`` the L2
    term enters :math:`m` and :math:`v` and is rescaled by the adaptive denominator, so it
    is *not* weight decay in the sense of SGD; that is what :class:`AdamW` fixes.

    References
    ----------
    Kingma and Ba (2015), "Adam: a method for stochastic optimization", ICLR.
    Reddi, Kale and Kumar (2018), "On the convergence of Adam and beyond", ICLR (AMSGrad).
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": bool(amsgrad)})

    def _check_group(self, group, prefix):
        where = _label(prefix, "betas")  # None: the constructor's argument (torch's message)
        for k, beta in enumerate(group["betas"]):
            if not beta < 1.0:
                raise _invalid(f"betas[{k}]", beta, "in [0, 1)", where and f"{where}[{k}]")

    def _init_state(self, state: dict, param: np.ndarray) -> None:
        state.update(step=0, exp_avg=np.zeros(param.shape), exp_avg_sq=np.zeros(param.shape))
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros(param.shape)

    def update(self, param, grad, state):
        if not state:
            self._init_state(state, param)
        beta1, beta2 = self.betas
        state["step"] += 1
        step = state["step"]
        if self.weight_decay != 0:
            if self._decoupled:
                param *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1 - beta2) * grad) * grad
        step_size = self.lr / (1 - beta1 ** float(step))
        bias_correction2_sqrt = (1 - beta2 ** float(step)) ** 0.5
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"]) / bias_correction2_sqrt + self.eps
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + self.eps
        param += (-step_size * exp_avg) / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Unit 3, "Adam" (and Unit 4, "Weight decay").

    .. math::
        \begin{aligned}
        &t \leftarrow t + 1 \\
        &\theta \leftarrow \theta - \gamma \lambda \theta \\
        &g \leftarrow \nabla f(\theta_{\text{before the decay}}) \\
        &m, v, (v_{\max}), \theta \leftarrow \text{the Adam step of } g \text{ (without L2 term)}
        \end{aligned}

    Parameters are those of :class:`Adam`, except ``weight_decay`` (default ``1e-2``),
    which shrinks the weights directly instead of entering the gradient.

    Attributes
    ----------
    state : list of dict
        As :class:`Adam`.

    Notes
    -----
    With SGD, an L2 penalty :math:`\tfrac{\lambda}{2}\|\theta\|^2` and weight decay
    :math:`\theta \leftarrow (1 - \gamma\lambda)\theta` are the same thing; with Adam they
    are not, because the penalty's gradient is divided by :math:`\sqrt{\hat v}`. AdamW
    decays every weight at the same rate :math:`\gamma\lambda` whatever its gradient
    history. Torch multiplies the decay by the learning rate (the paper uses a separate
    schedule multiplier).

    References
    ----------
    Loshchilov and Hutter (2019), "Decoupled weight decay regularization", ICLR.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
