"""Greedy layer-wise pretraining and the bias-variance decomposition (dlcourse.regularization, Unit 4)."""

import numpy as np
import pytest

from dlcourse.data import load_digits, train_test_split
from dlcourse.layers.linear import Linear
from dlcourse.regularization import pretraining as P
from dlcourse.regularization.bias_variance import (RegressionProblem, bias_variance_decomposition,
                                                   polynomial_fit_predict, sine_problem)

pytestmark = pytest.mark.unit4


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X, y, test_size=0.3, rng=0)


# -------------------------------------------------------------------------------- pretraining
def test_each_autoencoder_learns_to_reconstruct(digits):
    X_tr = digits[0][:300]
    encoders, losses = P.greedy_pretrain(X_tr, [24, 12], epochs=8, rng=0)
    assert [(e.in_features, e.out_features) for e in encoders] == [(64, 24), (24, 12)]
    for history in losses:
        assert len(history) == 8 and history[-1] < 0.5 * history[0]


def test_pretrain_then_finetune_classifies_digits(digits):
    X_tr, X_te, y_tr, y_te = digits
    result = P.pretrain_and_finetune(X_tr[:600], y_tr[:600], hidden_sizes=(32, 16), pretrain_epochs=8,
                                     finetune_epochs=15, rng=0)
    assert len(result.model) == 5  # Linear, act, Linear, act, Linear
    assert result.finetune_losses[-1] < 0.3 * result.finetune_losses[0]
    assert np.mean(result.predict(X_te) == y_te) > 0.9


def test_finetuning_changes_the_pretrained_encoders(digits):
    X_tr, _, y_tr, _ = digits
    encoders, _ = P.greedy_pretrain(X_tr[:200], [16], epochs=3, rng=0)
    before = encoders[0].weight.copy()
    model = P.build_classifier(encoders, 10, rng=0)
    assert model[0] is encoders[0]
    P.fine_tune(model, X_tr[:200], y_tr[:200], epochs=2, rng=0)
    assert not np.allclose(before, encoders[0].weight)


def test_pretraining_is_reproducible_and_has_a_random_init_baseline(digits):
    X_tr, X_te, y_tr, _ = digits
    kw = dict(hidden_sizes=(16,), pretrain_epochs=2, finetune_epochs=2, rng=3)
    a = P.pretrain_and_finetune(X_tr[:200], y_tr[:200], **kw)
    b = P.pretrain_and_finetune(X_tr[:200], y_tr[:200], **kw)
    np.testing.assert_array_equal(a.model.forward(X_te), b.model.forward(X_te))
    base = P.pretrain_and_finetune(X_tr[:200], y_tr[:200], pretrain=False, **kw)
    assert base.pretrain_losses == [] and len(base.finetune_losses) == 2
    assert isinstance(base.model[0], Linear)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: P.pretrain_and_finetune(np.ones((4, 3)), [0, 1, 0]), ValueError, r"y must have shape \(4,\)"),
    (lambda: P.pretrain_and_finetune(np.ones((4, 3)), [0, 1, 0, 1], hidden_sizes=()), ValueError, "at least one"),
    (lambda: P.pretrain_and_finetune(np.ones((4, 3)), [0, 1, 0, 1], activation="swish"), ValueError,
     "activation must be one of"),
    (lambda: P.pretrain_and_finetune(np.ones((4, 3)), [0, 1, 0, 1], lr=0), ValueError, "lr must be in"),
    (lambda: P.train_autoencoder_layer(np.ones(5), 2), ValueError, "X must be 2-D"),
    (lambda: P.build_classifier([Linear(3, 2)], 1), ValueError, "n_classes must be >= 2"),
])
def test_pretraining_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- bias-variance
def test_higher_degree_lowers_bias_and_raises_variance():
    problem, x_test = sine_problem(n_train=30, noise_std=0.3), np.linspace(0.05, 0.95, 50)
    low, mid, high = (bias_variance_decomposition(polynomial_fit_predict(d), problem, x_test, n_repeats=200, rng=0)
                      for d in (1, 3, 9))
    assert low.bias2 > 10 * mid.bias2 and low.bias2 > 10 * high.bias2
    assert high.variance > 10 * mid.variance and high.variance > 10 * low.variance
    assert mid.expected_error < min(low.expected_error, high.expected_error)  # the sweet spot


@pytest.mark.parametrize("degree", [0, 1, 3, 5])
def test_decomposition_adds_up_to_the_measured_error(degree):
    bv = bias_variance_decomposition(polynomial_fit_predict(degree), sine_problem(), n_repeats=300, rng=1)
    assert bv.noise == pytest.approx(0.09)
    assert bv.bias2 + bv.variance + bv.noise == pytest.approx(bv.expected_error, rel=0.05)
    assert bv.predictions.shape == (300, 100) and bv.mean_prediction.shape == (100,)


def test_constant_truth_and_mean_predictor_hand_computed():
    # f = 0, predictor = mean of n noisy targets: bias 0, variance sigma^2 / n
    problem = RegressionProblem(lambda x: np.zeros_like(x), noise_std=1.0, n_train=4)
    bv = bias_variance_decomposition(lambda x, y, xt: np.full(xt.shape, y.mean()), problem, n_repeats=4000, rng=0)
    assert bv.bias2 < 1e-3 and bv.variance == pytest.approx(0.25, rel=0.06)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: bias_variance_decomposition(polynomial_fit_predict(1), sine_problem(), n_repeats=1), ValueError,
     "n_repeats must be >= 2"),
    (lambda: bias_variance_decomposition(lambda x, y, xt: y, sine_problem(), n_repeats=2), ValueError,
     r"one prediction per test point, shape \(100,\), got \(20,\)"),
    (lambda: bias_variance_decomposition(polynomial_fit_predict(1), object()), TypeError, "lacks sample, f, noise_std"),
    (lambda: polynomial_fit_predict(-1), ValueError, "degree must be >= 0"),
    (lambda: sine_problem(n_train=1), ValueError, "n_train must be >= 2"),
])
def test_bias_variance_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
