"""Helpers shared by Unit 5's explore modules: one torch thread for tiny models, the torch training step and the
moving average the training-curve figures draw (trained models are kept by :mod:`.session`)."""

from __future__ import annotations

import contextlib

import numpy as np


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run torch with ``n`` threads and float32 as the default dtype inside the block.

    Tiny models are fastest on one thread; on a busy machine a second thread mostly waits
    for a core (a CNN epoch on the digits took 8× longer with two threads than with one).
    Modules created inside are float32 and drawn the same way whatever the caller's default
    dtype (``dlcourse.notebook.setup`` makes it float64), so a seed gives the same model in a
    notebook, a test or a script.
    """
    import torch

    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(n)
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)


def torch_train_step(loss, optimizer, clip_grad_norm: float | None = None, scheduler=None) -> float:
    r"""One torch training step, the counterpart of :func:`dlcourse.train.train_step` for Unit 5's torch labs.

    ``optimizer.zero_grad()``, ``loss.backward()``, optionally
    ``torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)`` over the optimizer's parameters (in
    its order), ``optimizer.step()``, optionally ``scheduler.step()``: the step every torch training
    of ``explore/`` takes, in the same order as the NumPy one (Unit 5, "Training a CNN").

    Parameters
    ----------
    loss : torch.Tensor or callable
        The batch's scalar loss, computed by the caller's forward pass, or a function of no
        arguments returning it (called first, before ``zero_grad``).
    optimizer : torch.optim.Optimizer
        Updates the parameters of its ``param_groups``.
    clip_grad_norm : float, optional
        Rescale the gradients so that their total 2-norm is at most this (``None``: no clipping).
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped once after the update (a per-batch schedule such as ``OneCycleLR``).

    Returns
    -------
    float
        ``loss.item()``: the batch's loss before the update.
    """
    import torch

    if callable(loss):
        loss = loss()
    optimizer.zero_grad()
    loss.backward()
    if clip_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


def moving_average(values, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, means)``: the mean of every ``window`` consecutive ``values``, at the 1-based step ending it.

    A noisy per-step loss curve reads better smoothed; the steps say where each mean ends, so two curves of the
    same length line up. ``window`` larger than the curve gives empty arrays.
    """
    v = np.asarray(values, dtype=float)
    means = np.convolve(v, np.ones(window) / window, mode="valid") if len(v) >= window else np.zeros(0)
    return np.arange(window, window + len(means)), means
