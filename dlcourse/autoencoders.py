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
    r"""Gradient descent on :math:`\frac{1}{N}\|X_c - X_c E^\top D^\top\|^2` (centred data, no biases)."""
    X = as_float_array(X, "X", ndim=2)
    Xc = X - X.mean(axis=0)
    n, dim = Xc.shape
    rng = as_rng(rng)
    E = rng.normal(0, 0.1, (k, dim))
    Dm = rng.normal(0, 0.1, (dim, k))
    pcs, _ = pca(X, k)
    losses, angles = [], []
    for _ in range(check_positive_int(epochs, "epochs")):
        code = Xc @ E.T
        R = code @ Dm.T - Xc
        losses.append(float(np.sum(R * R) / n))
        if not np.isfinite(losses[-1]) or losses[-1] > 1e6:
            raise ValueError(f"training diverged at epoch {len(losses)} with lr={lr}; use a smaller lr")
        gD = 2 * R.T @ code / n
        gE = 2 * (R @ Dm).T @ Xc / n
        Dm -= lr * gD
        E -= lr * gE
        angles.append(float(principal_angles(Dm, pcs.T).max()))
    return LinearAERun(E, Dm, np.array(losses), np.array(angles))


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
