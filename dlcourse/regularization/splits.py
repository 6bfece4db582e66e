r"""Resampling: k-fold cross-validation and the bootstrap (Unit 4, "Cross-validation", "Bagging")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_rng, check_positive_int

__all__ = ["Fold", "BootstrapSample", "kfold_indices", "stratified_kfold_indices", "bootstrap_sample"]


class Fold(NamedTuple):
    train: np.ndarray  # sorted int indices used for fitting
    val: np.ndarray    # sorted int indices held out


class BootstrapSample(NamedTuple):
    indices: np.ndarray     # n indices drawn with replacement (the "in-bag" sample)
    out_of_bag: np.ndarray  # sorted indices never drawn (about n / e of them)


def _check_k(k, n: int) -> int:
    k = check_positive_int(k, "k", minimum=2)
    if k > n:
        raise ValueError(f"k must be at most the number of samples n = {n} (each fold needs a sample), "
                         f"got k = {k}; use fewer folds")
    return k


def _folds_from_assignment(fold_of: np.ndarray, k: int) -> list[Fold]:
    idx = np.arange(len(fold_of))
    return [Fold(idx[fold_of != j], idx[fold_of == j]) for j in range(k)]


def kfold_indices(n: int, k: int, shuffle: bool = False, rng=None) -> list[Fold]:
    r"""Split ``range(n)`` into ``k`` folds; return ``k`` pairs ``(train, val)``.

    Fold sizes differ by at most one (the first ``n % k`` folds get one more), as in
    scikit-learn's ``KFold``. Without ``shuffle`` the folds are consecutive blocks;
    with it the samples are permuted by ``rng`` (None, int or Generator) first.
    Every index is in exactly one ``val``.
    """
    n = check_positive_int(n, "n")
    k = _check_k(k, n)
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    fold_of = np.empty(n, dtype=int)
    fold_of[order] = np.repeat(np.arange(k), sizes)
    return _folds_from_assignment(fold_of, k)


def stratified_kfold_indices(y, k: int, rng=None, shuffle: bool = True) -> list[Fold]:
    r"""k folds that each keep the class proportions of the labels ``y``.

    The samples are sorted by class (shuffled within each class by ``rng`` if
    ``shuffle``) and dealt to the folds in turn, like cards. Hence in every fold
    the count of each class :math:`c` is :math:`\lfloor n_c/k \rfloor` or
    :math:`\lceil n_c/k \rceil`, and fold sizes differ by at most one.

    Parameters
    ----------
    y : array of shape (n,)
        Class labels (any hashable values numpy can sort).
    k : int
        Number of folds, 2 <= k <= n. A class with fewer than ``k`` members is
        missing from some validation folds.
    rng : None, int or numpy.random.Generator
        Randomness of the shuffling within classes.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    n = check_positive_int(len(y), "len(y)")
    k = _check_k(k, n)
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    order = order[np.argsort(y[order], kind="stable")]
    fold_of = np.empty(n, dtype=int)
    fold_of[order] = np.arange(n) % k
    return _folds_from_assignment(fold_of, k)


def bootstrap_sample(n: int, rng=None) -> BootstrapSample:
    r"""Draw ``n`` indices from ``range(n)`` with replacement, and the ones left out.

    Each index is left out with probability :math:`(1 - 1/n)^n \approx e^{-1} \approx 0.368`;
    the left-out ("out-of-bag") samples give a free validation set.
    """
    n = check_positive_int(n, "n")
    idx = as_rng(rng).integers(0, n, size=n)
    return BootstrapSample(idx, np.setdiff1d(np.arange(n), idx))
