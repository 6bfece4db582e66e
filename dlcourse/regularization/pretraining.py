r"""Greedy layer-wise pretraining with autoencoders, then fine-tuning (Unit 4, "Unsupervised pretraining").

The recipe of Bengio et al. (2007) and Hinton and Salakhutdinov (2006):

1. Train a one-hidden-layer autoencoder :math:`x \to f(W_1 x + b_1) \to W_1' h + b_1'` to
   reconstruct the inputs (mean squared error). Keep its encoder :math:`(W_1, b_1)`.
2. Encode the data, :math:`h_1 = f(W_1 x + b_1)`, and train the next autoencoder on
   :math:`h_1`; and so on, one layer at a time, each trained with the layers below frozen.
3. Stack the encoders, put a softmax classifier on top, and fine-tune the whole network
   end to end on the labels (cross-entropy).

Everything is built from :class:`~dlcourse.layers.linear.Linear` and
:class:`~dlcourse.layers.activation.Activation`, and trained by :func:`dlcourse.train.fit`
(Adam, mean squared error for the autoencoders, cross-entropy for the fine-tuning).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .. import activations as A
from .._validate import as_float_array, as_rng, check_number, check_positive_int
from ..layers.activation import Activation
from ..layers.linear import Linear
from ..layers.module import Sequential
from ..optim import Adam
from ..train import fit
from .learners import check_X_y

__all__ = ["Pretrained", "train_autoencoder_layer", "greedy_pretrain", "build_classifier", "fine_tune",
           "predict_classes", "pretrain_and_finetune"]


class Pretrained(NamedTuple):
    model: Sequential                     # encoders with activations, then Linear(h_last, n_classes)
    pretrain_losses: list[list[float]]    # reconstruction MSE per epoch, one list per layer
    finetune_losses: list[float]          # training cross-entropy per epoch
    classes: np.ndarray                   # label of each output unit

    def predict(self, X) -> np.ndarray:
        return self.classes[predict_classes(self.model, X)]


def _train(model: Sequential, X, target, loss: str, epochs: int, lr: float, batch_size: int, rng) -> list[float]:
    """Mini-batch Adam on ``loss`` with :func:`dlcourse.train.fit`; return the mean loss of each epoch."""
    if epochs == 0:
        return []
    return fit(model, X, target, loss=loss, optimizer=Adam(model.parameters(), lr=lr), epochs=epochs,
               batch_size=batch_size, rng=rng, progress=False)["loss"]


# ------------------------------------------------------------------------------------ recipe
def train_autoencoder_layer(X, hidden_size: int, activation: str = "sigmoid", epochs: int = 10,
                            lr: float = 1e-2, batch_size: int = 32, rng=None) -> tuple[Linear, list[float]]:
    r"""Train :math:`x \to f(Wx + b) \to W'h + b'` to reconstruct ``X`` (n, d); return the encoder and losses.

    The decoder is linear, so inputs need not lie in the activation's range.
    """
    X = as_float_array(X, "X", ndim=2)
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    rng = as_rng(rng)
    encoder = Linear(X.shape[1], hidden_size, rng=rng)
    autoencoder = Sequential(encoder, Activation(activation), Linear(hidden_size, X.shape[1], rng=rng))
    losses = _train(autoencoder, X, X, "mse", epochs, lr, batch_size, rng)
    return encoder, losses


def greedy_pretrain(X, hidden_sizes: Sequence[int], activation: str = "sigmoid", epochs: int = 10,
                    lr: float = 1e-2, batch_size: int = 32, rng=None) -> tuple[list[Linear], list[list[float]]]:
    """Train one autoencoder per entry of ``hidden_sizes``, each on the codes of the ones below."""
    f, _ = A.get_activation(activation)
    rng, H = as_rng(rng), as_float_array(X, "X", ndim=2)
    encoders, losses = [], []
    for size in hidden_sizes:
        encoder, history = train_autoencoder_layer(H, size, activation, epochs, lr, batch_size, rng)
        encoders.append(encoder)
        losses.append(history)
        H = f(encoder.forward(H))
    return encoders, losses


def build_classifier(encoders: Sequence[Linear], n_classes: int, activation: str = "sigmoid",
                     rng=None) -> Sequential:
    """Stack the encoders (each followed by the activation) and a new ``Linear(h_last, n_classes)``."""
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    layers = []
    for enc in encoders:
        layers += [enc, Activation(activation)]
    layers.append(Linear(encoders[-1].out_features, n_classes, rng=as_rng(rng)))
    return Sequential(*layers)


def fine_tune(model: Sequential, X, labels, epochs: int = 20, lr: float = 1e-2, batch_size: int = 32,
              rng=None) -> list[float]:
    """Train every layer of ``model`` on softmax cross-entropy with integer ``labels`` (0..C-1)."""
    X = as_float_array(X, "X", ndim=2)
    labels = np.asarray(labels, dtype=int)
    return _train(model, X, labels, "cross_entropy", epochs, lr, batch_size, as_rng(rng))


def predict_classes(model: Sequential, X) -> np.ndarray:
    """Index of the largest output of ``model`` for each row of ``X``."""
    return np.argmax(model.forward(as_float_array(X, "X", ndim=2)), axis=1)


def pretrain_and_finetune(X, y, hidden_sizes: Sequence[int] = (32, 16), activation: str = "sigmoid",
                          pretrain_epochs: int = 10, finetune_epochs: int = 20, lr: float = 1e-2,
                          batch_size: int = 32, rng=0, pretrain: bool = True) -> Pretrained:
    """The whole recipe on ``X`` (n, d) and labels ``y`` (n,).

    With ``pretrain=False`` the same network starts from random weights instead (the
    baseline to compare with). Returns a :class:`Pretrained` whose ``predict(X)`` gives labels.
    """
    X, y = check_X_y(X, y)
    sizes = [check_positive_int(h, "hidden_sizes item") for h in hidden_sizes]
    if not sizes:
        raise ValueError("hidden_sizes must hold at least one layer size, got an empty sequence")
    A.get_activation(activation)
    for name, val in (("pretrain_epochs", pretrain_epochs), ("finetune_epochs", finetune_epochs),
                      ("batch_size", batch_size)):
        check_positive_int(val, name, minimum=0 if name == "pretrain_epochs" else 1)
    check_number(lr, "lr", low=0.0, low_open=True)
    rng = as_rng(rng)
    classes, codes = np.unique(y, return_inverse=True)
    if pretrain:
        encoders, pre_losses = greedy_pretrain(X, sizes, activation, pretrain_epochs, lr, batch_size, rng)
    else:
        dims = [X.shape[1]] + sizes
        encoders, pre_losses = [Linear(a, b, rng=rng) for a, b in zip(dims, dims[1:])], []
    model = build_classifier(encoders, max(2, len(classes)), activation, rng)
    ft_losses = fine_tune(model, X, codes, finetune_epochs, lr, batch_size, rng)
    return Pretrained(model, pre_losses, ft_losses, classes)
