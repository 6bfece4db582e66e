r"""A small trainer for networks built from :mod:`dlcourse.layers` (Unit 5, "Training a CNN").

:func:`fit` runs mini-batch training: shuffle, forward, loss, backward, update, with a
progress bar, and returns the history of the loss and the accuracies per epoch.
:func:`predict` runs a trained model on new data in batches.

The model can be any :class:`~dlcourse.layers.module.Module` (a
:class:`~dlcourse.layers.module.Sequential` of layers, typically) with ``forward``,
``backward``, ``parameters()``, ``gradients()``, ``zero_grad()``, ``train()`` and ``eval()``.

The losses and optimizers here are small private copies so that the trainer stands on
its own; the full, torch-checked versions are :mod:`dlcourse.losses` (Unit 2) and
:mod:`dlcourse.optim` (Unit 3), and an optimizer object from :mod:`dlcourse.optim`
(anything with ``step(grads)``) can be passed as ``optimizer``.
"""

from __future__ import annotations

import time

import numpy as np

from ._validate import as_float_array, as_rng, check_choice, check_number, check_positive_int

__all__ = ["fit", "predict", "accuracy", "LOSSES", "OPTIMIZERS"]


# --------------------------------------------------------------------------- losses
def _softmax_cross_entropy(logits, y):
    r"""Mean cross-entropy of integer labels under softmax(logits), and its gradient.

    .. math:: L = -\frac1N \sum_n \log \operatorname{softmax}(z_n)_{y_n}, \qquad
              \frac{\partial L}{\partial z} = \frac1N (\operatorname{softmax}(z) - \operatorname{onehot}(y))
    """
    N, C = logits.shape
    if y.shape != (N,) or y.min() < 0 or y.max() >= C:
        raise ValueError(f"y must hold N={N} integer labels in [0, {C - 1}] for logits of shape {logits.shape}, "
                         f"got shape {y.shape} with range [{y.min()}, {y.max()}]")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    grad = np.exp(log_p)
    grad[rows, y] -= 1.0
    return float(-log_p[rows, y].mean()), grad / N


def _mse(pred, target):
    r"""Mean squared error and its gradient: :math:`L = \frac{1}{\text{size}} \sum (p - t)^2`."""
    target = target.reshape(pred.shape) if target.size == pred.size else target
    if target.shape != pred.shape:
        raise ValueError(f"y must have the model output's shape {pred.shape} for loss='mse', got {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


LOSSES = {"cross_entropy": _softmax_cross_entropy, "mse": _mse}


# --------------------------------------------------------------------------- optimizers
class _SGD:
    r"""SGD with momentum, torch's form: :math:`v \leftarrow \mu v + g,\; \theta \leftarrow \theta - \eta v`."""

    def __init__(self, params, lr, momentum=0.9):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.momentum_buffer = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.momentum_buffer):
            v *= self.momentum
            v += g
            p -= self.lr * v


class _Adam:
    r"""Adam (Kingma & Ba, 2015) with bias correction, torch's defaults.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        \theta \leftarrow \theta - \eta \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
    """

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.exp_avg = [np.zeros_like(p) for p in params]
        self.exp_avg_sq = [np.zeros_like(p) for p in params]
        self.step_count = 0

    def step(self, grads):
        self.step_count += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1 ** self.step_count, 1.0 - b2 ** self.step_count
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            m += (1.0 - b1) * (g - m)
            v += (1.0 - b2) * (g * g - v)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


OPTIMIZERS = {"sgd": (_SGD, 0.1), "adam": (_Adam, 1e-3)}   # class, default learning rate


def _make_optimizer(optimizer, model, lr):
    if optimizer is None:
        optimizer = "adam"
    if isinstance(optimizer, str):
        cls, default_lr = OPTIMIZERS[check_choice(optimizer, OPTIMIZERS, "optimizer")]
        lr = default_lr if lr is None else check_number(lr, "lr", low=0.0, low_open=True)
        return cls(model.parameters(), lr)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must be 'sgd', 'adam' or an object with step(grads) (e.g. dlcourse.optim.Adam), "
                        f"got {type(optimizer).__name__}")
    if lr is not None:
        raise ValueError("lr is set on the optimizer object itself; pass lr=None with an optimizer object")
    return optimizer


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
def fit(model, X, y, loss: str = "cross_entropy", optimizer=None, epochs: int = 10, batch_size: int = 32,
        lr: float | None = None, seed=0, X_val=None, y_val=None, progress: bool = True,
        lr_schedule=None, clip_grad_norm: float | None = None) -> dict:
    r"""Train ``model`` on ``(X, y)`` with mini-batches; return the history per epoch.

    Each step: forward a batch, compute the mean loss and its gradient, ``zero_grad()``,
    ``backward``, then let the optimizer update ``model.parameters()`` in place.

    Parameters
    ----------
    model : dlcourse Module
        E.g. a :class:`~dlcourse.layers.module.Sequential`; its output is ``(N, C)`` logits
        for ``loss="cross_entropy"``, or has ``y``'s shape for ``loss="mse"``.
    X : ndarray, shape (N, ...)
        Inputs, one sample per row (``(N, C, H, W)`` for a CNN).
    y : ndarray, shape (N,) of int for ``"cross_entropy"``, or the output's shape for ``"mse"``
    loss : {"cross_entropy", "mse"}
        Softmax cross-entropy on logits (mean over the batch), or mean squared error.
    optimizer : {"adam", "sgd"}, None or an optimizer object
        ``None`` means ``"adam"`` (lr 1e-3 unless given); ``"sgd"`` is SGD with momentum 0.9
        (lr 0.1 unless given). An object with ``step(grads)`` built on
        ``model.parameters()`` (e.g. ``dlcourse.optim.Adam(model.parameters(), lr=1e-3)``)
        is used as is; then leave ``lr`` as None.
    epochs, batch_size : int
    lr : float, optional
        Learning rate for a named optimizer.
    seed : None, int or numpy.random.Generator
        Shuffles the samples every epoch (the model's initial weights come from its layers' ``rng``).
    X_val, y_val : ndarray, optional
        Validation data, evaluated after every epoch in ``eval()`` mode.
    progress : bool
        Show a tqdm progress bar over the epochs (in a notebook, a widget).
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> float``: the learning rate for ``epoch`` (counted from 0), set
        as ``optimizer.lr`` before the epoch starts; e.g.
        ``lambda e: dlcourse.optim.schedules.cosine_annealing(1e-3, 10, e)`` (Unit 3,
        "Learning-rate schedules").
    clip_grad_norm : float, optional
        If given, rescale the gradients of every step so that their global L2 norm is at most
        this value before the update, as ``torch.nn.utils.clip_grad_norm_`` (Unit 5,
        "Gradient clipping").

    Returns
    -------
    history : dict of lists, one entry per epoch
        ``"loss"`` (mean training loss over the epoch's batches), ``"train_acc"`` (accuracy
        on the batches as they were trained, in ``train()`` mode), ``"val_loss"``,
        ``"val_acc"``, and ``"time"`` (seconds since the start). Accuracies are NaN for
        ``"mse"``, and validation entries NaN without validation data.

    The model is left in ``eval()`` mode, ready for :func:`predict`.

    Examples
    --------
    >>> from dlcourse.layers.module import Sequential
    >>> from dlcourse.layers.linear import Linear
    >>> from dlcourse.layers.activation import ReLU
    >>> from dlcourse.data import make_moons
    >>> X, y = make_moons(200, seed=0)
    >>> model = Sequential(Linear(2, 16, rng=0), ReLU(), Linear(16, 2, rng=1))
    >>> history = fit(model, X, y, epochs=30, lr=1e-2, progress=False)
    >>> history["loss"][-1] < history["loss"][0]
    True

    Unit 5, "Training a CNN" (the same loop as Unit 3's, with layers instead of a formula).
    """
    _check_model(model)
    loss = check_choice(loss, LOSSES, "loss")
    X, y = _check_xy(X, y, loss)
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together")
        X_val, y_val = _check_xy(X_val, y_val, loss, names=("X_val", "y_val"))
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function epoch -> learning rate, got {type(lr_schedule).__name__}")
    if clip_grad_norm is not None:
        clip_grad_norm = check_number(clip_grad_norm, "clip_grad_norm", low=0.0, low_open=True)
    opt, rng = _make_optimizer(optimizer, model, lr), as_rng(seed)
    history = {key: [] for key in ("loss", "train_acc", "val_loss", "val_acc", "time")}
    start = time.perf_counter()
    from ._progress import progress_bar

    bar = progress_bar(range(epochs), "epochs", enabled=progress)
    for epoch in bar:
        if lr_schedule is not None:
            opt.lr = check_number(lr_schedule(epoch), f"lr_schedule({epoch})", low=0.0)
        train_loss, train_acc = _train_epoch(model, X, y, loss, opt, batch_size, rng, clip_grad_norm)
        val_loss, val_acc = _evaluate(model, X_val, y_val, loss, batch_size) if has_val else (np.nan, np.nan)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc, time.perf_counter() - start)):
            history[key].append(value)
        bar.set_postfix({k: f"{history[k][-1]:.4g}" for k in ("loss", "train_acc", "val_acc")
                         if not np.isnan(history[k][-1])})
    model.eval()
    return history


def _clip(grads, max_norm):
    r"""Scale ``grads`` in place by :math:`\min(1, \text{max\_norm} / \lVert g \rVert)` (global norm)."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / (norm + 1e-6)


def _train_epoch(model, X, y, loss, opt, batch_size, rng, clip_grad_norm=None):
    """One pass over the shuffled data; returns (mean loss, accuracy or NaN)."""
    model.train()
    total_loss, correct = 0.0, 0
    for idx in _batches(len(X), batch_size, rng):
        out = model.forward(X[idx])
        value, grad = LOSSES[loss](out, y[idx])
        model.zero_grad()
        model.backward(grad)
        if clip_grad_norm is not None:
            _clip(model.gradients(), clip_grad_norm)
        opt.step(model.gradients())
        total_loss += value * len(idx)
        if loss == "cross_entropy":
            correct += int(np.sum(out.argmax(axis=1) == y[idx]))
    return total_loss / len(X), (correct / len(X) if loss == "cross_entropy" else np.nan)


def _evaluate(model, X, y, loss, batch_size):
    out = predict(model, X, batch_size=batch_size)
    value, _ = LOSSES[loss](out, y)
    acc = float(np.mean(out.argmax(axis=1) == y)) if loss == "cross_entropy" else np.nan
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
