r"""The field guide's experiments (Unit 4, "Remaining challenges"), each small enough to run in a second.

* :func:`transfer_experiment` — reuse a network trained on digits 0–4 for digits 5–9;
* :func:`forgetting_experiment` — train on 0–4, then on 5–9 only: the first task is forgotten
  (unless old examples are replayed);
* :func:`fgsm_attack` — adversarial digits by the fast gradient sign method;
* :func:`lime_explanation`, :func:`shapley_values` — model-agnostic explanations over 2×2 pixel blocks;
* :func:`federated_averaging` — FedAvg over clients that each hold two digit classes;
* :func:`laplace_mechanism`, :func:`dp_sgd_softmax` — differential privacy for a query and for training.

All networks are :mod:`dlcourse.layers` built and trained by full-batch Adam.

``model.zero_grad()`` here clears the gradients of a backward pass used as a measurement (the input gradient
of :func:`input_gradient`, for FGSM); nothing is updated, so it is not a training loop and does not go through
:func:`dlcourse.train.train_step`; the trainings go through ``fit``.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from math import factorial
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_seed
from ..activations import softmax
from ..data import load_digits, train_test_split
from ..layers import Linear, ReLU, Sequential
from ..losses import cross_entropy_grad
from ..mlp import make_mlp
from ..optim import Adam
from ..train import accuracy, fit
from .threads import single_threaded


@lru_cache(maxsize=1)
def digits_split(rng=0):
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    return train_test_split(X, y, test_size=0.25, rng=seed)


def train(model, X, y, steps: int, lr: float = 1e-2, params=None, callbacks=()) -> None:
    """Full-batch Adam on softmax cross-entropy (:func:`dlcourse.train.fit`); ``params`` (default: all) are updated."""
    opt = Adam(model.parameters() if params is None else params, lr=lr)
    fit(model, X, y, optimizer=opt, epochs=steps, batch_size=len(X), shuffle=False, progress=False,
        callbacks=callbacks)


# ----------------------------------------------------------------------------- transfer learning
class TransferResult(NamedTuple):
    task: str
    sizes: tuple
    frozen: np.ndarray       # source features frozen, new head trained (mean over subsets)
    finetuned: np.ndarray    # source weights as the start, everything trained
    scratch: np.ndarray      # random start
    source_accuracy: float   # the source network on its own task's test digits


TRANSFER_TASKS = ("digits 0-4 → digits 5-9", "digits 0-9 → odd or even")


def _transfer_data(task: str):
    """Source (X, y, X_test, y_test) and target (X, y, X_test, y_test) of a transfer task."""
    Xtr, Xte, ytr, yte = digits_split()
    if task == TRANSFER_TASKS[0]:
        s, st, t, tt = ytr < 5, yte < 5, ytr >= 5, yte >= 5
        return (Xtr[s], ytr[s], Xte[st], yte[st]), (Xtr[t], ytr[t] - 5, Xte[tt], yte[tt] - 5)
    if task == TRANSFER_TASKS[1]:
        half = len(Xtr) // 2   # the source and the target see different training digits
        return (Xtr[:half], ytr[:half], Xte, yte), (Xtr[half:], ytr[half:] % 2, Xte, yte % 2)
    raise ValueError(f"task must be one of {TRANSFER_TASKS}, got {task!r}")


@single_threaded
def transfer_experiment(task: str = TRANSFER_TASKS[0], sizes=(10, 25, 50, 100), steps: int = 100,
                        n_subsets: int = 2, rng=0) -> TransferResult:
    """Train a source network, then learn the target task from ``n`` labelled digits three ways.

    The hidden layer (64 ReLU units) is reused: frozen under a new output layer, or as the
    starting point of training everything; the baseline trains the same network from scratch.
    Accuracies are averaged over ``n_subsets`` random choices of the ``n`` labelled digits.
    """
    seed = as_seed(rng, "rng")
    (Xs, ys, Xs_te, ys_te), (Xt, yt, Xt_te, yt_te) = _transfer_data(task)
    n_src, n_tgt = int(ys.max()) + 1, int(yt.max()) + 1
    source = make_mlp(64, [64], n_src, activation="relu", rng=seed)
    train(source, Xs, ys, 2 * steps)
    rows = []
    for n in sizes:
        scores = []
        for k in range(n_subsets):
            idx = np.random.default_rng(seed + 10 + k).permutation(len(Xt))[:n]
            frozen = Sequential(copy.deepcopy(source[0]), ReLU(), Linear(64, n_tgt, rng=seed + 2))
            train(frozen, Xt[idx], yt[idx], steps, params=frozen[2].parameters())
            tuned = Sequential(copy.deepcopy(source[0]), ReLU(), Linear(64, n_tgt, rng=seed + 2))
            train(tuned, Xt[idx], yt[idx], steps)
            scratch = make_mlp(64, [64], n_tgt, activation="relu", rng=seed + 3)
            train(scratch, Xt[idx], yt[idx], steps)
            scores.append([accuracy(m, Xt_te, yt_te) for m in (frozen, tuned, scratch)])
        rows.append(np.mean(scores, axis=0))
    r = np.array(rows)
    return TransferResult(task, tuple(sizes), r[:, 0], r[:, 1], r[:, 2], accuracy(source, Xs_te, ys_te))


# -------------------------------------------------------------------------- catastrophic forgetting
class ForgettingResult(NamedTuple):
    steps: np.ndarray           # training steps on task B
    old_task: np.ndarray        # accuracy on digits 0-4 while training on 5-9 only
    new_task: np.ndarray        # accuracy on digits 5-9
    old_task_replay: np.ndarray  # the same with 50 old digits replayed in every batch
    new_task_replay: np.ndarray


@single_threaded
def forgetting_experiment(steps: int = 150, every: int = 10, n_replay: int = 50, rng=0) -> ForgettingResult:
    """Task A = digits 0–4, then task B = digits 5–9, one 10-way network throughout."""
    seed = as_seed(rng, "rng")
    Xtr, Xte, ytr, yte = digits_split()
    a, b = ytr < 5, ytr >= 5
    first = make_mlp(64, [64], 10, activation="relu", rng=seed)
    train(first, Xtr[a], ytr[a], steps)
    out = {}
    for replay in (False, True):
        model = copy.deepcopy(first)
        X, y = Xtr[b], ytr[b]
        if replay:
            X, y = np.vstack([X, Xtr[a][:n_replay]]), np.r_[y, ytr[a][:n_replay]]
        curve = [(accuracy(model, Xte[yte < 5], yte[yte < 5]), accuracy(model, Xte[yte >= 5], yte[yte >= 5]))]

        def record(epoch, history):
            if (epoch + 1) % every == 0:
                curve.append((accuracy(model, Xte[yte < 5], yte[yte < 5]),
                              accuracy(model, Xte[yte >= 5], yte[yte >= 5])))

        train(model, X, y, steps, lr=1e-2, callbacks=[record])
        out[replay] = np.array(curve)
    return ForgettingResult(np.arange(0, steps + 1, every), out[False][:, 0], out[False][:, 1],
                            out[True][:, 0], out[True][:, 1])


# --------------------------------------------------------------------------------- adversarial
@single_threaded
def digits_classifier():
    """Unit 1's 64-32-10 ReLU digit classifier (:func:`dlcourse.explore.saliency.trained_digits_mlp`), trained once."""
    from .saliency import trained_digits_mlp

    return trained_digits_mlp()


def input_gradient(model, X, y) -> np.ndarray:
    r"""Per-example gradients :math:`\partial L_n / \partial x_n` of the cross-entropy, shape ``X.shape``."""
    X = np.atleast_2d(X)
    out = model.forward(X)
    grad = model.backward(cross_entropy_grad(out, np.atleast_1d(y)) * len(X))   # undo the mean over the batch
    model.zero_grad()
    return grad


def fgsm_attack(model, X, y, eps: float) -> np.ndarray:
    r"""Fast gradient sign method: :math:`x_{adv} = \mathrm{clip}(x + \epsilon\,\mathrm{sign}(\nabla_x L), 0, 1)`."""
    return np.clip(X + eps * np.sign(input_gradient(model, X, y)), 0.0, 1.0)


@single_threaded
def attack_curve(model, X, y, epsilons, rng=0) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy under FGSM and under random ±eps noise of the same size, for each eps."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    fgsm, noise = [], []
    for eps in epsilons:
        fgsm.append(accuracy(model, fgsm_attack(model, X, y, eps), y))
        noise.append(accuracy(model, np.clip(X + eps * rng.choice([-1.0, 1.0], X.shape), 0, 1), y))
    return np.array(fgsm), np.array(noise)


# ------------------------------------------------------------------------------ interpretability
def block_masks(block: int = 2, side: int = 8) -> np.ndarray:
    """``(side/block)²`` feature masks over the pixels, shape (n_features, side*side), 1 inside each block."""
    k = side // block
    masks = np.zeros((k * k, side, side))
    for i in range(k):
        for j in range(k):
            masks[i * k + j, i * block:(i + 1) * block, j * block:(j + 1) * block] = 1.0
    return masks.reshape(k * k, -1)


def coalition_images(x, coalitions, masks) -> np.ndarray:
    """Images keeping only the blocks switched on in each coalition row (the others blanked to 0)."""
    return x[None, :] * (np.asarray(coalitions, dtype=float) @ masks)


def class_probability(model, label: int) -> Callable:
    def f(X):
        return softmax(model.forward(X), axis=1)[:, label]
    return f


@single_threaded
def shapley_values(value, n_features: int) -> np.ndarray:
    r"""Exact Shapley values of the cooperative game ``value`` over ``n_features`` players.

    ``value(C)`` takes a 0/1 matrix of coalitions (rows) and returns one number per row.
    All :math:`2^n` coalitions are evaluated once, then

    .. math:: \phi_i = \sum_{S \subseteq N \setminus \{i\}} \frac{|S|!\,(n - |S| - 1)!}{n!}
              \big(v(S \cup \{i\}) - v(S)\big)

    Lundberg and Lee (2017) estimate these by sampling; with 16 features the exact sum is cheap.
    """
    codes = np.arange(2 ** n_features)
    C = (codes[:, None] >> np.arange(n_features)) & 1
    v = np.asarray(value(C), dtype=np.float64)
    size = C.sum(1)
    weight = np.array([factorial(s) * factorial(n_features - s - 1) / factorial(n_features)
                       for s in range(n_features)])
    phi = np.empty(n_features)
    for i in range(n_features):
        without = codes[C[:, i] == 0]
        phi[i] = np.sum(weight[size[without]] * (v[without | (1 << i)] - v[without]))
    return phi


class LimeExplanation(NamedTuple):
    weights: np.ndarray     # (n_features,) local linear effect of keeping each block
    intercept: float
    r2: float               # weighted fit quality of the surrogate


@single_threaded
def lime_explanation(value, n_features: int, n_samples: int = 1000, kernel_width: float = 0.25,
                     alpha: float = 1e-3, rng=0) -> LimeExplanation:
    r"""LIME: fit a weighted linear surrogate to ``value`` on random coalitions near "all features on".

    Each sample switches every feature off with probability 1/2; its weight is
    :math:`\exp(-d^2/w^2)` with :math:`d` the fraction of features switched off (Ribeiro et al., 2016).
    """
    rng = np.random.default_rng(rng)
    Z = (rng.random((n_samples, n_features)) < 0.5).astype(float)
    Z[0] = 1.0
    f = np.asarray(value(Z), dtype=np.float64)
    w = np.exp(-((1 - Z.mean(1)) ** 2) / kernel_width ** 2)
    sw = np.sqrt(w / w.sum() * n_samples)
    A = np.c_[np.ones(n_samples), Z] * sw[:, None]
    coef = np.linalg.solve(A.T @ A + alpha * np.diag([0.0] + [1.0] * n_features), A.T @ (f * sw))
    pred = np.c_[np.ones(n_samples), Z] @ coef
    r2 = 1 - np.sum(w * (f - pred) ** 2) / np.sum(w * (f - np.average(f, weights=w)) ** 2)
    return LimeExplanation(coef[1:], float(coef[0]), float(r2))


# --------------------------------------------------------------------------------------- privacy
class FederatedResult(NamedTuple):
    rounds: np.ndarray
    federated: np.ndarray     # test accuracy of the global model after each round
    central: float            # the same network trained on the pooled data, same number of steps
    local_only: np.ndarray    # each client's own model (50 steps on its data) on the whole test set


@single_threaded
def federated_averaging(n_rounds: int = 15, local_steps: int = 10, lr: float = 1e-2, rng=0) -> FederatedResult:
    """FedAvg (McMahan et al., 2017) with five clients, client k holding only digits 2k and 2k+1."""
    seed = as_seed(rng, "rng")
    Xtr, Xte, ytr, yte = digits_split()
    clients = [(Xtr[(ytr // 2) == k], ytr[(ytr // 2) == k]) for k in range(5)]
    sizes = np.array([len(y) for _, y in clients], dtype=float)
    global_model = make_mlp(64, [64], 10, activation="relu", rng=seed)
    history = []
    for _ in range(n_rounds):
        updates = []
        for X, y in clients:
            local = copy.deepcopy(global_model)
            train(local, X, y, local_steps, lr)
            updates.append(local.parameters())
        for j, p in enumerate(global_model.parameters()):
            p[...] = sum(s * u[j] for s, u in zip(sizes, updates)) / sizes.sum()
        history.append(accuracy(global_model, Xte, yte))
    central = make_mlp(64, [64], 10, activation="relu", rng=seed)
    train(central, Xtr, ytr, n_rounds * local_steps, lr)
    local_only = []
    for X, y in clients:             # a client alone learns its two classes within a few dozen steps
        m = make_mlp(64, [64], 10, activation="relu", rng=seed)
        train(m, X, y, 50, lr)
        local_only.append(accuracy(m, Xte, yte))
    return FederatedResult(np.arange(1, n_rounds + 1), np.array(history), accuracy(central, Xte, yte),
                           np.array(local_only))


def laplace_mechanism(true_value: float, sensitivity: float, epsilon: float, rng=None, size=None):
    r"""Release :math:`f(D) + \mathrm{Laplace}(0, \Delta f/\varepsilon)`: :math:`\varepsilon`-differentially private
    for a query whose value changes by at most :math:`\Delta f` when one person's record changes
    (Dwork et al., 2006)."""
    if epsilon <= 0 or sensitivity < 0:
        raise ValueError(f"epsilon must be > 0 and sensitivity >= 0, got {epsilon} and {sensitivity}")
    return true_value + np.random.default_rng(rng).laplace(0.0, sensitivity / epsilon, size)


@single_threaded
def dp_sgd_softmax(X, y, noise_multiplier: float, clip: float = 1.0, steps: int = 300, batch: int = 64,
                   lr: float = 0.5, rng=0) -> np.ndarray:
    r"""Softmax regression trained by DP-SGD: clip each example's gradient to norm ``clip``, sum, add
    :math:`\mathcal{N}(0, (\sigma C)^2)` noise, divide by the batch size (Abadi et al., 2016).
    Returns ``W`` (10, 65), the last column the bias.

    Stays outside :func:`dlcourse.train.fit` (issue 14): DP-SGD clips every example's gradient before
    summing and adding noise, and :func:`dlcourse.train.train_step` only sees the batch's mean gradient."""
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    Xb = np.c_[X, np.ones(len(X))]
    W = np.zeros((10, Xb.shape[1]))
    for _ in range(steps):
        idx = rng.choice(len(X), batch, replace=False)
        p = softmax(Xb[idx] @ W.T, axis=1)
        p[np.arange(batch), y[idx]] -= 1.0
        per_example = p[:, :, None] * Xb[idx][:, None, :]                     # (batch, 10, 65)
        norms = np.sqrt((per_example ** 2).sum((1, 2)))
        per_example /= np.maximum(1.0, norms / clip)[:, None, None]
        noisy = per_example.sum(0) + rng.normal(0, noise_multiplier * clip, W.shape)
        W -= lr * noisy / batch
    return W


def softmax_accuracy(W, X, y) -> float:
    return float(np.mean((np.c_[X, np.ones(len(X))] @ W.T).argmax(1) == y))
