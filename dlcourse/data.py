"""Small data sets that need no download (Unit 1 onwards).

The 2-D toy sets are generated from a seed; the digits are scikit-learn's
bundled 8×8 images (1,797 of them, shipped inside the package). Every function
returns float64 inputs and integer labels and is deterministic for a given
``rng`` (a seed or a ``numpy.random.Generator``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_rng, check_number, check_positive_int

__all__ = ["make_moons", "make_circles", "make_xor", "make_spirals", "make_blobs", "load_digits",
           "train_test_split", "TOY_DATASETS", "make_toy", "Dataset"]


class Dataset(NamedTuple):
    X: np.ndarray
    y: np.ndarray


def make_moons(n_samples: int = 200, noise: float = 0.1, rng=0) -> Dataset:
    """Two interleaving half circles (labels 0 and 1)."""
    n = check_positive_int(n_samples, "n_samples", minimum=2)
    noise = check_number(noise, "noise", low=0.0)
    rng = as_rng(rng)
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.vstack([np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    X = X + noise * rng.standard_normal(X.shape)
    return _shuffle(X - [0.5, 0.25], y, rng)


def make_circles(n_samples: int = 200, noise: float = 0.08, factor: float = 0.5, rng=0) -> Dataset:
    """A small circle (label 1) inside a large one (label 0)."""
    n = check_positive_int(n_samples, "n_samples", minimum=2)
    noise = check_number(noise, "noise", low=0.0)
    factor = check_number(factor, "factor", low=0.0, high=1.0, low_open=True)
    rng = as_rng(rng)
    n0 = n // 2
    t0, t1 = rng.uniform(0, 2 * np.pi, n0), rng.uniform(0, 2 * np.pi, n - n0)
    X = np.vstack([np.c_[np.cos(t0), np.sin(t0)], factor * np.c_[np.cos(t1), np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    return _shuffle(X + noise * rng.standard_normal(X.shape), y, rng)


def make_xor(n_samples: int = 200, noise: float = 0.15, rng=0) -> Dataset:
    """Four clusters at the corners of a square; label 1 where exactly one coordinate is positive."""
    n = check_positive_int(n_samples, "n_samples", minimum=4)
    noise = check_number(noise, "noise", low=0.0)
    rng = as_rng(rng)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
    idx = np.arange(n) % 4
    X = 0.6 * corners[idx] + noise * rng.standard_normal((n, 2))
    y = (np.sign(corners[idx, 0]) != np.sign(corners[idx, 1])).astype(int)
    return _shuffle(X, y, rng)


def make_spirals(n_samples: int = 200, noise: float = 0.1, turns: float = 1.5, rng=0) -> Dataset:
    """Two interleaved spirals, the hardest of the toy sets."""
    n = check_positive_int(n_samples, "n_samples", minimum=2)
    noise = check_number(noise, "noise", low=0.0)
    turns = check_number(turns, "turns", low=0.0, low_open=True)
    rng = as_rng(rng)
    n0 = n // 2
    parts = []
    for k, m in enumerate((n0, n - n0)):
        r = np.linspace(0.1, 1.0, m)
        t = 2 * np.pi * turns * r + k * np.pi
        parts.append(np.c_[r * np.cos(t), r * np.sin(t)])
    X = np.vstack(parts) + noise * 0.5 * rng.standard_normal((n, 2))
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    return _shuffle(X, y, rng)


def make_blobs(n_samples: int = 200, centers=((-1, -1), (1, 1)), std: float = 0.5, rng=0) -> Dataset:
    """Gaussian clusters around ``centers`` (label = index of the centre)."""
    n = check_positive_int(n_samples, "n_samples", minimum=1)
    std = check_number(std, "std", low=0.0)
    centers = np.asarray(centers, dtype=float)
    if centers.ndim != 2 or len(centers) == 0:
        raise ValueError(f"centers must be a 2-D array of points (at least one), got shape {centers.shape}")
    rng = as_rng(rng)
    y = np.arange(n) % len(centers)
    X = centers[y] + std * rng.standard_normal((n, centers.shape[1]))
    return _shuffle(X, y, rng)


TOY_DATASETS = {"moons": make_moons, "circles": make_circles, "xor": make_xor, "spirals": make_spirals}


def make_toy(name: str, n_samples: int = 200, noise: float | None = None, rng=0) -> Dataset:
    """One of :data:`TOY_DATASETS` by name."""
    if name not in TOY_DATASETS:
        raise ValueError(f"name must be one of {sorted(TOY_DATASETS)}, got {name!r}")
    kwargs = {} if noise is None else {"noise": noise}
    return TOY_DATASETS[name](n_samples=n_samples, rng=as_rng(rng), **kwargs)


def load_digits(n_class: int = 10, scale: bool = True) -> Dataset:
    """scikit-learn's bundled 8×8 digits: ``X`` (n, 64), pixels in [0, 1] if ``scale``; ``y`` in 0..9."""
    from sklearn.datasets import load_digits as _load

    n_class = check_positive_int(n_class, "n_class")
    if n_class > 10:
        raise ValueError(f"n_class must be between 1 and 10, got {n_class}")
    d = _load(n_class=n_class)
    X = d.data.astype(np.float64)
    return Dataset(X / 16.0 if scale else X, d.target.astype(int))


def train_test_split(X, y, test_size: float = 0.25, rng=0):
    """Shuffle and split into ``X_train, X_test, y_train, y_test``."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    test_size = check_number(test_size, "test_size", low=0.0, high=1.0, low_open=True)
    rng = as_rng(rng)
    idx = rng.permutation(len(X))
    n_test = max(1, int(round(test_size * len(X))))
    te, tr = idx[:n_test], idx[n_test:]
    return X[tr], X[te], y[tr], y[te]


def _shuffle(X, y, rng) -> Dataset:
    p = rng.permutation(len(X))
    return Dataset(X[p].astype(np.float64), y[p])
