r"""Autoencoders: encoder → code → decoder, trained to reproduce their input (Unit 1).

* A *linear* autoencoder with a k-dimensional code, trained on squared error,
  learns the same subspace as PCA (the top-k right singular vectors of the
  centred data, :math:`D \approx U V^\top`) — though not the same basis.
* A *deep* autoencoder with nonlinear layers can bend that subspace: a 2-D code
  of the digits separates the classes better than two principal components.
* Reconstruction error flags inputs unlike the training data (outliers).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, as_rng, as_seed, check_positive_int
from .layers import Sequential
from .mlp import make_mlp


def pca(X, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal directions ``(k, D)`` and the mean of ``X`` (via the SVD)."""
    X = as_float_array(X, "X", ndim=2)
    k = check_positive_int(k, "k")
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    return vt[:k], mean


def principal_angles(A, B) -> np.ndarray:
    """Angles (degrees) between the column spaces of ``A`` (D, k) and ``B`` (D, k)."""
    qa, _ = np.linalg.qr(as_float_array(A, "A", ndim=2))
    qb, _ = np.linalg.qr(as_float_array(B, "B", ndim=2))
    s = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0)
    return np.degrees(np.arccos(s))


class LinearAERun(NamedTuple):
    encoder: np.ndarray   # (k, D)
    decoder: np.ndarray   # (D, k)
    losses: np.ndarray
    angles: np.ndarray    # largest principal angle to PCA's subspace after each epoch


def train_linear_autoencoder(X, k: int = 2, epochs: int = 200, lr: float = 0.05, rng=0) -> LinearAERun:
    r"""Gradient descent on :math:`\frac{1}{N}\|X_c - X_c E^\top D^\top\|^2` (centred data, no biases).

    Trained by :func:`dlcourse.train.fit`, full batch: ``Sequential(Linear(D, k), Linear(k, D))`` without
    biases (weights ``E`` and ``D``, drawn from :math:`\mathcal N(0, 0.1^2)`), :class:`dlcourse.optim.SGD`.
    Its ``"mse"`` is the mean over all :math:`N \cdot D` entries, this loss divided by :math:`D`: the step is
    ``lr * D`` and the recorded losses are ``D`` times ``fit``'s. ``angles`` come from a callback.
    """
    from .layers import Linear
    from .optim import SGD
    from .train import fit

    X = as_float_array(X, "X", ndim=2)
    epochs = check_positive_int(epochs, "epochs")
    Xc = X - X.mean(axis=0)
    n, dim = Xc.shape
    rng = as_rng(rng)
    encoder, decoder = Linear(dim, k, bias=False, rng=0), Linear(k, dim, bias=False, rng=0)
    encoder.weight[...] = rng.normal(0, 0.1, (k, dim))
    decoder.weight[...] = rng.normal(0, 0.1, (dim, k))
    pcs, _ = pca(X, k)
    losses, angles = [], []

    def record(epoch, history):
        losses.append(float(history["loss"][-1] * dim))
        if not np.isfinite(losses[-1]) or losses[-1] > 1e6:
            raise ValueError(f"training diverged at epoch {len(losses)} with lr={lr}; use a smaller lr")
        angles.append(float(principal_angles(decoder.weight, pcs.T).max()))

    model = Sequential(encoder, decoder)
    with np.errstate(over="ignore", invalid="ignore"):     # a diverging run is reported by record
        fit(model, Xc, Xc, loss="mse", optimizer=SGD(model.parameters(), lr=lr * dim), epochs=epochs,
            batch_size=n, shuffle=False, progress=False, callbacks=[record])
    return LinearAERun(encoder.weight, decoder.weight, np.array(losses), np.array(angles))


def make_autoencoder(dim: int, hidden: list[int], code: int, activation: str = "tanh", rng=0):
    """Encoder ``dim → hidden… → code`` and decoder ``code → reversed(hidden)… → dim``."""
    seed = as_seed(rng)       # an int, whatever rng was: the decoder takes the next seed, as it always did
    encoder = make_mlp(dim, hidden, code, activation=activation, rng=seed)
    decoder = make_mlp(code, list(reversed(hidden)), dim, activation=activation, rng=seed + 1)
    return encoder, decoder


def train_autoencoder(encoder: Sequential, decoder: Sequential, X, epochs: int = 60, batch_size: int = 64,
                      lr: float = 3e-3, rng=0, progress: bool = False) -> np.ndarray:
    """Adam on the mean squared reconstruction error (:func:`dlcourse.train.fit`); the loss of each epoch."""
    from .optim import Adam
    from .train import fit

    model = Sequential(encoder, decoder)
    X = as_float_array(X, "X", ndim=2)
    history = fit(model, X, X, loss="mse", optimizer=Adam(model.parameters(), lr=lr),
                  epochs=check_positive_int(epochs, "epochs"), batch_size=batch_size, rng=rng, progress=progress)
    model.train()
    return np.array(history["loss"])


def reconstruction_error(encoder: Sequential, decoder: Sequential, X) -> np.ndarray:
    """Mean squared error of each row of ``X`` after encoding and decoding."""
    X = as_float_array(X, "X", ndim=2)
    diff = decoder.forward(encoder.forward(X)) - X
    return np.mean(diff * diff, axis=1)
