r"""The one training loop of the course, built from the public library (Unit 5, "Training a CNN").

Every network in the course trains with these two functions:

- :func:`train_step` — one step: forward a batch, loss and its gradient
  (:mod:`dlcourse.losses`), ``zero_grad()``, ``backward``, optional clipping
  (:func:`dlcourse.optim.clip_grad_norm`), the optimizer's update (:mod:`dlcourse.optim`);
- :func:`fit` — epochs of shuffled mini-batches of :func:`train_step`, with a progress bar,
  validation, a learning-rate schedule and callbacks (a widget's progress, early stopping).

:func:`predict` runs a trained model on new data in batches. The model can be any
:class:`~dlcourse.layers.module.Module` (a :class:`~dlcourse.layers.module.Sequential` of
layers, typically) with ``forward``, ``backward``, ``parameters()``, ``gradients()``,
``zero_grad()``, ``train()`` and ``eval()``.

Unit 5's torch trainings take the same step: ``optimizer.zero_grad()``, ``loss.backward()``,
optional clipping (``torch.nn.utils.clip_grad_norm_``), ``optimizer.step()``, an optional
scheduler step, in :func:`dlcourse.explore.unit5_common.torch_train_step` (torch stays out of
this module).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from . import losses as L
from ._validate import as_float_array, as_rng, check_choice, check_number, check_positive_int
from .optim import SGD, Adam
from .optim import clip_grad_norm as _clip_grad_norm

__all__ = ["fit", "train_step", "StepResult", "predict", "accuracy", "LOSSES", "NAMED_OPTIMIZERS"]


def _output_shaped(fn):
    """``fn(out, target)`` with labels ``(N,)`` of a model with output ``(N, 1)`` reshaped to the output's shape."""
    def loss(out, target):
        if target.shape != out.shape and target.size == out.size:
            target = target.reshape(out.shape)
        return fn(out, target)
    loss.__name__ = loss.__qualname__ = fn.__name__
    return loss


LOSSES = {"cross_entropy": (L.cross_entropy, L.cross_entropy_grad),
          "mse": (_output_shaped(L.mse), _output_shaped(L.mse_grad))}
# fit's optimizer="sgd" / "adam": name -> (factory over model.parameters(), default lr). Not
# dlcourse.optim.OPTIMIZERS, which maps torch's class names ("SGD", "Adam", ...) to the classes.
NAMED_OPTIMIZERS = {"sgd": (partial(SGD, momentum=0.9), 0.1), "adam": (Adam, 1e-3)}


class StepResult(NamedTuple):
    loss: float           # the batch's mean loss, before the update
    output: np.ndarray    # the model's output for the batch, before the update
    grad_norm: float      # the gradients' total norm before clipping (NaN when not clipping)


def _loss_pair(loss):
    """``(loss_fn, loss_grad)`` from a name of :data:`LOSSES` or a pair of functions."""
    if isinstance(loss, tuple) and len(loss) == 2 and all(callable(f) for f in loss):
        return loss
    return LOSSES[check_choice(loss, LOSSES, "loss")]


def _make_optimizer(optimizer, model, lr=None):
    """An optimizer over ``model.parameters()`` from a name (``"adam"``, ``"sgd"``), or ``optimizer`` itself."""
    if optimizer is None:
        optimizer = "adam"
    if isinstance(optimizer, str):
        factory, default_lr = NAMED_OPTIMIZERS[check_choice(optimizer, NAMED_OPTIMIZERS, "optimizer")]
        lr = default_lr if lr is None else check_number(lr, "lr", low=0.0, low_open=True)
        return factory(model.parameters(), lr=lr)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must be 'sgd', 'adam' or an object with step(grads) (e.g. dlcourse.optim.Adam), "
                        f"got {type(optimizer).__name__}")
    if lr is not None:
        raise ValueError("lr is set on the optimizer object itself; pass lr=None with an optimizer object")
    return optimizer


def _gradients_for(model, optimizer) -> list[np.ndarray]:
    """The model's gradients of the optimizer's parameters, in the optimizer's order (a subset is fine)."""
    grads = model.gradients()
    params = getattr(optimizer, "params", None)
    if params is None:
        return grads
    model_params = model.parameters()
    if len(params) == len(model_params) and all(p is q for p, q in zip(params, model_params)):
        return grads
    by_id = {id(p): g for p, g in zip(model_params, grads)}
    missing = [i for i, p in enumerate(params) if id(p) not in by_id]
    if missing:
        raise ValueError(f"the optimizer's parameter(s) {missing} are not parameters of the model; build the "
                         "optimizer on model.parameters() (or a subset of them)")
    return [by_id[id(p)] for p in params]


def train_step(model, x, target, loss="cross_entropy", optimizer=None,
               clip_grad_norm: float | None = None) -> StepResult:
    r"""One gradient step of ``model`` on the batch ``(x, target)``.

    .. math:: \theta \leftarrow \operatorname{update}\bigl(\theta,\ \nabla_\theta\, \ell(f_\theta(x), t)\bigr)

    Forward, the loss and its gradient with respect to the output, ``model.zero_grad()``,
    ``model.backward``, then (optionally) :func:`dlcourse.optim.clip_grad_norm`, then
    ``optimizer.step`` with the gradients of the optimizer's parameters.

    Parameters
    ----------
    model : dlcourse Module
    x : ndarray, shape (N, ...)
    target : ndarray
        Integer labels (N,) for ``"cross_entropy"``; the output's shape for ``"mse"``.
    loss : {"cross_entropy", "mse"} or (callable, callable)
        A name of :data:`LOSSES`, or a pair ``(loss(out, target) -> float,
        loss_grad(out, target) -> ndarray)`` such as ``(losses.huber, losses.huber_grad)``.
    optimizer : optimizer object
        E.g. ``dlcourse.optim.Adam(model.parameters())``, or over a subset of them (the
        others stay frozen).
    clip_grad_norm : float, optional
        Rescale the gradients so that their total norm is at most this value (Unit 3,
        "Exploding gradients and clipping").

    Returns
    -------
    StepResult
        ``loss``, ``output`` (both before the update) and ``grad_norm``.
    """
    loss_fn, loss_grad = _loss_pair(loss)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must be an object with step(grads) (e.g. dlcourse.optim.Adam(model.parameters())), "
                        f"got {type(optimizer).__name__}")
    out = model.forward(x)
    if loss_fn is L.cross_entropy and loss_grad is L.cross_entropy_grad:   # both from one log-softmax
        value, grad = L.cross_entropy_with_grad(out, target)
    else:
        value, grad = loss_fn(out, target), loss_grad(out, target)
    model.zero_grad()
    model.backward(grad)
    grads = _gradients_for(model, optimizer)
    norm = _clip_grad_norm(grads, clip_grad_norm) if clip_grad_norm is not None else np.nan
    optimizer.step(grads)
    return StepResult(float(value), out, norm)


# --------------------------------------------------------------------------- data helpers
def _check_model(model):
    missing = [m for m in ("forward", "backward", "parameters", "gradients", "zero_grad", "train", "eval")
               if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(f"model must be a dlcourse Module (e.g. Sequential of layers); "
                        f"{type(model).__name__} lacks {', '.join(missing)}")


def _check_xy(X, y, loss, names=("X", "y")):
    X = as_float_array(X, names[0])
    if X.ndim < 2:
        raise ValueError(f"{names[0]} must have shape (N, ...) with one sample per row, got {X.shape}")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of samples, got {len(X)} and {len(y)}")
    if loss == "cross_entropy" and (y.ndim != 1 or not np.issubdtype(y.dtype, np.integer)):
        raise ValueError(f"{names[1]} must be a 1-D array of integer class labels for loss='cross_entropy', "
                         f"got dtype {y.dtype} and shape {y.shape}")
    return X, (y if loss == "cross_entropy" else as_float_array(y, names[1]))


def _batches(n, batch_size, rng=None):
    order = np.arange(n) if rng is None else rng.permutation(n)
    return [order[s:s + batch_size] for s in range(0, n, batch_size)]


# --------------------------------------------------------------------------- public API
def fit(model, X, y, loss="cross_entropy", optimizer=None, epochs: int = 10, batch_size: int = 32,
        lr: float | None = None, rng=0, X_val=None, y_val=None, progress: bool = True,
        lr_schedule=None, clip_grad_norm: float | None = None, callbacks=(), shuffle: bool = True) -> dict:
    r"""Train ``model`` on ``(X, y)`` with mini-batches of :func:`train_step`; return the history per epoch.

    Parameters
    ----------
    model : dlcourse Module
        E.g. a :class:`~dlcourse.layers.module.Sequential`; its output is ``(N, C)`` logits
        for ``loss="cross_entropy"``, or has ``y``'s shape for ``loss="mse"``.
    X : ndarray, shape (N, ...)
        Inputs, one sample per row (``(N, C, H, W)`` for a CNN).
    y : ndarray, shape (N,) of int for ``"cross_entropy"``, or the output's shape for ``"mse"``
    loss : {"cross_entropy", "mse"} or (callable, callable)
        Softmax cross-entropy on logits (mean over the batch), mean squared error, or a pair
        ``(loss, loss_grad)`` of :mod:`dlcourse.losses` functions (see :func:`train_step`).
    optimizer : {"adam", "sgd"}, None or an optimizer object
        ``None`` means ``"adam"`` (lr 1e-3 unless given); ``"sgd"`` is SGD with momentum 0.9
        (lr 0.1 unless given). An optimizer of :mod:`dlcourse.optim` built on
        ``model.parameters()`` (or on parameter groups, or a subset) is used as is; then
        leave ``lr`` as None.
    epochs, batch_size : int
    lr : float, optional
        Learning rate for a named optimizer.
    rng : None, int or numpy.random.Generator
        Shuffles the samples every epoch (the model's initial weights come from its layers' ``rng``).
    X_val, y_val : ndarray, optional
        Validation data, evaluated after every epoch in ``eval()`` mode.
    progress : bool
        Show a tqdm progress bar over the epochs (in a notebook, a widget; off when the
        environment sets ``TQDM_DISABLE``).
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> float``: the learning rate for ``epoch`` (counted from 0), an
        absolute rate, set before the epoch starts; e.g.
        ``lambda e: dlcourse.optim.schedules.cosine_annealing(1e-3, 10, e)`` (Unit 3,
        "Learning-rate schedules"). With parameter groups it is the rate of the first group
        whose learning rate is not 0 at the start, and every group keeps its starting ratio to
        it: each group's rate is its starting rate times ``lr_schedule(epoch) / lr_0``, as
        ``torch.optim.lr_scheduler.LambdaLR`` multiplies each group's base rate by one factor.
        A group that starts at ``lr=0`` (frozen) stays frozen.
    clip_grad_norm : float, optional
        If given, rescale the gradients of every step so that their global L2 norm is at most
        this value before the update, as ``torch.nn.utils.clip_grad_norm_`` (Unit 5,
        "Gradient clipping").
    callbacks : sequence of callables
        Each is called as ``callback(epoch, history)`` after every epoch (``history`` as
        returned, so far); a callback that returns True stops the training (early stopping,
        a widget's Stop button).
    shuffle : bool
        Shuffle the samples every epoch (default). ``False`` keeps their order (full-batch
        gradient descent: ``batch_size=len(X), shuffle=False``).

    Returns
    -------
    history : dict of lists, one entry per epoch
        ``"loss"`` (mean training loss over the epoch's batches), ``"train_acc"`` (accuracy
        on the batches as they were trained, in ``train()`` mode), ``"val_loss"``,
        ``"val_acc"``, and ``"time"`` (seconds since the start). Accuracies are NaN unless
        the loss is ``"cross_entropy"``, and validation entries NaN without validation data.

    The model is left in ``eval()`` mode, ready for :func:`predict`.

    Examples
    --------
    >>> from dlcourse.layers.module import Sequential
    >>> from dlcourse.layers.linear import Linear
    >>> from dlcourse.layers.activation import ReLU
    >>> from dlcourse.data import make_moons
    >>> X, y = make_moons(200, rng=0)
    >>> model = Sequential(Linear(2, 16, rng=0), ReLU(), Linear(16, 2, rng=1))
    >>> history = fit(model, X, y, epochs=30, lr=1e-2, progress=False)
    >>> history["loss"][-1] < history["loss"][0]
    True

    Unit 5, "Training a CNN" (the same loop as Unit 3's, with layers instead of a formula).
    """
    _check_model(model)
    loss_name = loss if isinstance(loss, str) else None
    pair = _loss_pair(loss)
    X, y = _check_xy(X, y, loss_name)
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together")
        X_val, y_val = _check_xy(X_val, y_val, loss_name, names=("X_val", "y_val"))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function epoch -> learning rate, got {type(lr_schedule).__name__}")
    if clip_grad_norm is not None:
        clip_grad_norm = check_number(clip_grad_norm, "clip_grad_norm", low=0.0, low_open=True)
    callbacks = _check_callbacks(callbacks)
    opt, rng = _make_optimizer(optimizer, model, lr), as_rng(rng)
    history = {key: [] for key in ("loss", "train_acc", "val_loss", "val_acc", "time")}
    start = time.perf_counter()
    from ._progress import progress_bar

    set_lr = _scheduled_lr_setter(opt) if lr_schedule is not None else None
    bar = progress_bar(range(epochs), "epochs", enabled=progress)
    for epoch in bar:
        if set_lr is not None:
            set_lr(check_number(lr_schedule(epoch), f"lr_schedule({epoch})", low=0.0))
        train_loss, train_acc = _train_epoch(model, X, y, loss_name, pair, opt, batch_size,
                                             rng if shuffle else None, clip_grad_norm)
        val_loss, val_acc = _evaluate(model, X_val, y_val, loss_name, pair, batch_size) if has_val else (np.nan, np.nan)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc, time.perf_counter() - start)):
            history[key].append(value)
        bar.set_postfix({k: f"{history[k][-1]:.4g}" for k in ("loss", "train_acc", "val_acc")
                         if not np.isnan(history[k][-1])})
        if any([bool(cb(epoch, history)) for cb in callbacks]):
            break
    model.eval()
    return history


def _scheduled_lr_setter(opt) -> Callable[[float], None]:
    """``set_lr(lr)`` for :func:`fit`'s schedule: each group's starting rate scaled by ``lr / lr_0``.

    ``lr_0`` is the first non-zero starting rate (recorded once, as torch's ``LambdaLR`` records
    ``base_lrs``); a group at that rate gets ``lr`` itself (no round-off with one group), a group
    at 0 stays at 0. An optimizer without ``param_groups`` gets ``opt.lr = lr``.
    """
    groups = getattr(opt, "param_groups", None)
    if groups is None:
        return lambda lr: setattr(opt, "lr", lr)
    base = [group["lr"] for group in groups]
    reference = next((b for b in base if b != 0), None)
    if reference is None:  # every group starts at 0: nothing to keep a ratio to, the schedule sets them all
        return lambda lr: setattr(opt, "lr", lr)

    def set_lr(lr: float) -> None:
        for group, b in zip(groups, base):
            group["lr"] = lr if b == reference else b * (lr / reference)
    return set_lr


def _check_callbacks(callbacks) -> list[Callable]:
    callbacks = [callbacks] if callable(callbacks) else list(callbacks)
    for i, cb in enumerate(callbacks):
        if not callable(cb):
            raise TypeError(f"callbacks[{i}] must be a function callback(epoch, history), got {type(cb).__name__}")
    return callbacks


def _train_epoch(model, X, y, loss_name, pair, opt, batch_size, rng, clip_grad_norm=None):
    """One pass over the (shuffled) data; returns (mean loss, accuracy or NaN)."""
    model.train()
    total_loss, correct = 0.0, 0
    for idx in _batches(len(X), batch_size, rng):
        target = y[idx]
        step = train_step(model, X[idx], target, pair, opt, clip_grad_norm)
        total_loss += step.loss * len(idx)
        if loss_name == "cross_entropy":
            correct += int(np.sum(step.output.argmax(axis=1) == target))
    return total_loss / len(X), (correct / len(X) if loss_name == "cross_entropy" else np.nan)


def _evaluate(model, X, y, loss_name, pair, batch_size):
    out = predict(model, X, batch_size=batch_size)
    value = float(pair[0](out, y))
    acc = float(np.mean(out.argmax(axis=1) == y)) if loss_name == "cross_entropy" else np.nan
    return value, acc


def predict(model, X, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``X`` (logits for a classifier), computed in batches in ``eval()`` mode.

    The model's previous train/eval mode is restored afterwards.

    Parameters
    ----------
    model : dlcourse Module
    X : ndarray, shape (N, ...)
    batch_size : int

    Returns
    -------
    ndarray, shape (N, ...)
        ``predict(model, X).argmax(axis=1)`` are the predicted classes.
    """
    _check_model(model)
    X = as_float_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (N, ...) with one sample per row, got {X.shape}")
    batch_size = check_positive_int(batch_size, "batch_size")
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        return np.concatenate([model.forward(X[idx]) for idx in _batches(len(X), batch_size)])
    finally:
        model.train(was_training)


def accuracy(model, X, y, batch_size: int = 256) -> float:
    """Fraction of samples whose largest output is at the label ``y``."""
    y = np.asarray(y)
    out = predict(model, X, batch_size=batch_size)
    if y.shape != (len(out),):
        raise ValueError(f"y must hold one label per sample, shape ({len(out)},), got {y.shape}")
    return float(np.mean(out.argmax(axis=1) == y))
