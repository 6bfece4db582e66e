r"""Multilayer perceptrons two ways (Unit 1, "The MLP" and "The training loop").

* :class:`ScalarMLP` builds every neuron from :class:`~dlcourse.graph.Value`
  nodes: slow, but every number is a node you can inspect and draw.
* :func:`make_mlp` stacks :class:`~dlcourse.layers.Linear` layers and
  activations: the same mathematics on whole arrays, fast enough for real data.

Both train with the same loop: forward, loss, backward, update, repeat.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_rng, check_choice, check_number, check_positive_int
from .graph import Value
from .layers import Activation, Linear, Sequential
from .optim import SGD
from .train import train_step

SCALAR_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class ScalarNeuron:
    r"""One neuron: :math:`a = f(\sum_i w_i x_i + b)` on :class:`Value` nodes.

    The weighted sum is one ``Value.dot`` node (its local gradients are the
    inputs and the weights); ``fused=False`` builds it from ``*`` and ``+``
    nodes instead, one node per product and per sum, as in the lecture notes.
    """

    def __init__(self, nin: int, activation: str = "tanh", rng=None, fused: bool = True):
        rng = as_rng(rng)
        self.activation = check_choice(activation, SCALAR_ACTIVATIONS, "activation")
        bound = 1.0 / np.sqrt(nin)
        self.w = [Value(float(v), label=f"w{i + 1}") for i, v in enumerate(rng.uniform(-bound, bound, nin))]
        self.b = Value(float(rng.uniform(-bound, bound)), label="b")
        self.fused = fused

    def __call__(self, x) -> Value:
        if self.fused:
            z = Value.dot(self.w, x) + self.b
        else:
            z = self.b
            for wi, xi in zip(self.w, x):
                z = z + wi * xi
        if self.activation == "linear":
            return z
        return getattr(z, self.activation)()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class ScalarMLP:
    """``ScalarMLP(2, [16, 16], 1)``: hidden layers with ``activation``, a linear output layer."""

    def __init__(self, nin: int, hidden: list[int], nout: int, activation: str = "tanh", rng=0,
                 fused: bool = True):
        rng = as_rng(rng)
        nin = check_positive_int(nin, "nin")
        nout = check_positive_int(nout, "nout")
        sizes = [nin] + [check_positive_int(h, "hidden size") for h in hidden] + [nout]
        self.layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            act = "linear" if i == len(sizes) - 2 else activation
            self.layers.append([ScalarNeuron(a, act, rng, fused) for _ in range(b)])

    def __call__(self, x):
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for n in layer for p in n.parameters()]


def scalar_training_step(model: ScalarMLP, X, y, lr: float = 0.05) -> float:
    """One full-batch step of gradient descent on the mean squared error; returns the loss.

    ``X`` is ``(N, nin)``, ``y`` is ``(N,)`` (for a ±1 classification, MSE on the labels works).
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    preds = [model([Value(v) for v in row]) for row in X]
    loss = Value.sum((p - t) ** 2 for p, t in zip(preds, y)) * (1.0 / len(y))
    params = model.parameters()
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.data


def make_mlp(in_features: int, hidden: list[int], out_features: int, activation: str = "relu",
             rng=0) -> Sequential:
    """``Linear → activation → ... → Linear`` as a :class:`~dlcourse.layers.Sequential`."""
    rng = as_rng(rng)
    sizes = [in_features] + list(hidden) + [out_features]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(Activation(activation))
    return Sequential(*layers)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Mean cross-entropy of softmax(logits) and its gradient :math:`(\hat y - y)/N`."""
    from .losses import cross_entropy, cross_entropy_grad

    return cross_entropy(logits, labels), cross_entropy_grad(logits, labels)


class Trainer:
    """Full- or mini-batch gradient descent on a :func:`make_mlp` classifier, one step at a time.

    The network playground calls :meth:`train` a few steps per animation frame.
    """

    def __init__(self, model: Sequential, X, y, lr: float = 0.1, batch_size: int | None = None, rng=0):
        self.model = model
        self.X = as_float_array(X, "X", ndim=2)
        self.y = np.asarray(y, dtype=int)
        self.optimizer = SGD(model.parameters(), lr=check_number(lr, "lr", low=0.0, low_open=True))
        self.batch_size = batch_size
        self.rng = as_rng(rng)
        self.losses: list[float] = []

    @property
    def lr(self) -> float:
        """The optimizer's learning rate (plain SGD: ``p -= lr * grad``)."""
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = check_number(value, "lr", low=0.0, low_open=True)

    def step(self) -> float:
        X, y = self.X, self.y
        if self.batch_size and self.batch_size < len(X):
            idx = self.rng.choice(len(X), self.batch_size, replace=False)
            X, y = X[idx], y[idx]
        loss = train_step(self.model, X, y, "cross_entropy", self.optimizer).loss
        self.losses.append(loss)
        return loss

    def train(self, steps: int) -> float:
        for _ in range(check_positive_int(steps, "steps")):
            loss = self.step()
        return loss

    def accuracy(self, X=None, y=None) -> float:
        X = self.X if X is None else X
        y = self.y if y is None else y
        return float(np.mean(np.argmax(self.model.forward(X), axis=1) == y))
