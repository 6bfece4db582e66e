r"""Optimizers, second-order methods, learning-rate schedules and gradient clipping (Unit 3).

Everything mirrors ``torch.optim`` (names, defaults, update rules, state keys), in NumPy:

- first-order optimizers :class:`SGD`, :class:`Adagrad`, :class:`RMSprop`,
  :class:`Adadelta`, :class:`Adam`, :class:`AdamW`, built on :class:`Optimizer`;
  ``opt = Adam([w, b], lr=0.01); opt.step([dw, db])`` updates ``w`` and ``b`` in place;
  parameter groups (``Adam([{"params": [w]}, {"params": [b], "weight_decay": 0}])``),
  ``add_param_group`` and ``state_dict`` / ``load_state_dict`` as in torch;
- second-order and quasi-Newton methods :func:`newton`, :func:`conjugate_gradient`,
  :func:`bfgs`, :func:`lbfgs`, each returning the array of iterates;
- learning-rate schedules in :mod:`dlcourse.optim.schedules`;
- :func:`clip_grad_value` and :func:`clip_grad_norm` (as ``torch.nn.utils``);
- helpers for hyperparameter search in :mod:`dlcourse.optim.tuning`.
"""

from . import schedules, tuning
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm, clip_grad_value
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .second_order import bfgs, conjugate_gradient, lbfgs, newton
from .sgd import SGD

OPTIMIZERS = {"SGD": SGD, "Adagrad": Adagrad, "RMSprop": RMSprop, "Adadelta": Adadelta,
              "Adam": Adam, "AdamW": AdamW}

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "OPTIMIZERS",
           "newton", "conjugate_gradient", "bfgs", "lbfgs", "schedules", "tuning",
           "clip_grad_value", "clip_grad_norm"]

