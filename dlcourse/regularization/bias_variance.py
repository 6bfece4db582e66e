r"""The bias–variance decomposition, estimated by refitting on fresh training sets (Unit 4, "Bias and variance").

For data :math:`y = f(x) + \varepsilon` with :math:`\mathbb{E}\varepsilon = 0`,
:math:`\operatorname{Var}\varepsilon = \sigma^2`, and a model :math:`\hat f_D` fitted on a random
training set :math:`D`, the expected squared error at a test point splits as

.. math::
    \mathbb{E}_{D,\varepsilon}\big[(y - \hat f_D(x))^2\big]
    = \underbrace{\big(\mathbb{E}_D \hat f_D(x) - f(x)\big)^2}_{\text{bias}^2}
    + \underbrace{\operatorname{Var}_D \hat f_D(x)}_{\text{variance}}
    + \underbrace{\sigma^2}_{\text{noise}}

:func:`bias_variance_decomposition` estimates each term by drawing ``n_repeats``
training sets, fitting on each and predicting at fixed test inputs, then averages the
terms over the test inputs. :func:`sine_problem` and :func:`polynomial_fit_predict`
give the classic example (polynomials of growing degree fitted to a noisy sine).
"""

from __future__ import annotations

import warnings
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_number, check_positive_int

__all__ = ["BiasVariance", "RegressionProblem", "bias_variance_decomposition", "sine_problem",
           "polynomial_fit_predict", "ZeroOneBiasVariance", "zero_one_bias_variance"]


class BiasVariance(NamedTuple):
    bias2: float                   # mean over test points of (mean prediction - f(x))^2
    variance: float                # mean over test points of the variance of the predictions
    noise: float                   # sigma^2, the irreducible error
    expected_error: float          # measured mean of (y - prediction)^2 on fresh noisy test targets
    mean_prediction: np.ndarray    # (n_test,) average prediction over the training sets
    predictions: np.ndarray        # (n_repeats, n_test) every fit's predictions


class RegressionProblem(NamedTuple):
    r"""A 1-D regression problem with a known truth: :math:`x \sim \mathcal{U}(\text{low}, \text{high})`,
    :math:`y = f(x) + \mathcal{N}(0, \text{noise\_std}^2)`."""

    f: Callable[[np.ndarray], np.ndarray]
    noise_std: float
    n_train: int
    low: float = 0.0
    high: float = 1.0

    def sample(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """A fresh training set ``(x, y)``, each of shape ``(n_train,)``."""
        x = rng.uniform(self.low, self.high, self.n_train)
        return x, self.f(x) + rng.normal(0.0, self.noise_std, self.n_train)


def sine_problem(n_train: int = 20, noise_std: float = 0.3) -> RegressionProblem:
    r"""The textbook example: :math:`f(x) = \sin(2\pi x)` on :math:`[0, 1]` (Bishop, PRML, Section 1.1)."""
    n_train = check_positive_int(n_train, "n_train", minimum=2)
    noise_std = check_number(noise_std, "noise_std", low=0.0)
    return RegressionProblem(lambda x: np.sin(2 * np.pi * x), noise_std, n_train, 0.0, 1.0)


def polynomial_fit_predict(degree: int) -> Callable:
    """A ``fit_predict(x_train, y_train, x_test)`` fitting a least-squares polynomial of ``degree``.

    Uses ``numpy.polynomial.Polynomial.fit``, which rescales x to [-1, 1] so that high
    degrees stay well conditioned.
    """
    degree = check_positive_int(degree, "degree", minimum=0)

    def fit_predict(x_train, y_train, x_test):
        with warnings.catch_warnings():  # degree >= n_train is underdetermined: lstsq picks the min-norm fit
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            return np.polynomial.Polynomial.fit(x_train, y_train, degree)(x_test)

    fit_predict.__name__ = f"polynomial_degree_{degree}"
    return fit_predict


def bias_variance_decomposition(fit_predict: Callable, problem: RegressionProblem, x_test=None,
                                n_repeats: int = 200, rng=None) -> BiasVariance:
    r"""Estimate bias², variance and noise of a learner on a problem with a known truth.

    Parameters
    ----------
    fit_predict : callable ``fit_predict(x_train, y_train, x_test) -> y_pred``
        Fits a model on one training set and returns its predictions at ``x_test``,
        shape ``(n_test,)`` (e.g. :func:`polynomial_fit_predict`).
    problem : RegressionProblem (or any object with the same attributes)
        Supplies ``problem.sample(rng) -> (x_train, y_train)``, the true function
        ``problem.f`` and the noise level ``problem.noise_std`` (e.g. :func:`sine_problem`).
    x_test : array (n_test,) or None
        Where to evaluate; default 100 points evenly spaced in ``[low, high]``.
    n_repeats : int
        Number of training sets (>= 2); the estimates' error shrinks like ``1/sqrt(n_repeats)``.
    rng : None, int or Generator

    Returns
    -------
    BiasVariance
        ``bias2 + variance + noise`` approximates ``expected_error``, which is measured
        directly against fresh noisy targets :math:`f(x) + \varepsilon` at ``x_test``.
    """
    n_repeats = check_positive_int(n_repeats, "n_repeats", minimum=2)
    missing = [a for a in ("sample", "f", "noise_std") if not hasattr(problem, a)]
    if missing:
        raise TypeError(f"problem must be a RegressionProblem (see sine_problem) or have sample, f and "
                        f"noise_std; a {type(problem).__name__} lacks {', '.join(missing)}")
    rng = as_rng(rng)
    if x_test is None:
        x_test = np.linspace(problem.low, problem.high, 100)
    x_test = as_float_array(x_test, "x_test", ndim=1)
    preds = np.stack([_fit_once(fit_predict, problem, x_test, rng) for _ in range(n_repeats)])
    truth = problem.f(x_test)
    y_noisy = truth + rng.normal(0.0, problem.noise_std, preds.shape)
    mean_pred = preds.mean(axis=0)
    return BiasVariance(bias2=float(np.mean((mean_pred - truth) ** 2)), variance=float(np.mean(preds.var(axis=0))),
                        noise=problem.noise_std**2, expected_error=float(np.mean((y_noisy - preds) ** 2)),
                        mean_prediction=mean_pred, predictions=preds)


def _fit_once(fit_predict, problem, x_test, rng) -> np.ndarray:
    x_train, y_train = problem.sample(rng)
    pred = np.asarray(fit_predict(x_train, y_train, x_test), dtype=np.float64)
    if pred.shape != x_test.shape:
        raise ValueError(f"fit_predict must return one prediction per test point, shape {x_test.shape}, "
                         f"got {pred.shape}")
    return pred


class ZeroOneBiasVariance(NamedTuple):
    error: float                 # mean 0-1 error of a single fit, over fits and test points
    bias: float                  # fraction of test points whose main prediction is wrong
    variance: float              # mean fraction of fits that disagree with the main prediction
    main_prediction: np.ndarray  # (n_test,) the most frequent prediction at each test point


def zero_one_bias_variance(predictions, y_true) -> ZeroOneBiasVariance:
    r"""Bias and variance of a classifier under 0-1 loss, from the predictions of repeated fits.

    With predictions :math:`\hat y_r(x)` of :math:`R` fits (each on its own training set), the
    *main prediction* :math:`y_m(x)` is their most frequent label (ties: the smallest). Then

    .. math::
        \text{bias}(x) = [y_m(x) \ne y(x)], \qquad
        \text{variance}(x) = \frac1R \sum_r [\hat y_r(x) \ne y_m(x)]

    averaged over the test points (Domingos, "A unified bias-variance decomposition", 2000).
    Unlike squared error, the two do not simply add: variance *raises* the error where the
    main prediction is right and *lowers* it where it is wrong. Labels are taken as noise-free.

    Parameters
    ----------
    predictions : array (R, n_test) of labels
    y_true : array (n_test,) of labels
    """
    P = np.asarray(predictions)
    y = np.asarray(y_true)
    if P.ndim != 2 or y.ndim != 1 or P.shape[1] != len(y):
        raise ValueError(f"predictions must have shape (R, n_test) and y_true (n_test,), got {P.shape} and {y.shape}")
    labels, codes = np.unique(P, return_inverse=True)
    codes = codes.reshape(P.shape)
    counts = np.stack([(codes == k).sum(axis=0) for k in range(len(labels))])
    main = labels[np.argmax(counts, axis=0)]
    return ZeroOneBiasVariance(float(np.mean(P != y)), float(np.mean(main != y)), float(np.mean(P != main)), main)
