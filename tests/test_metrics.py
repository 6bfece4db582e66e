"""Tests of dlcourse.metrics: parity with scikit-learn on random labels, hand-computed
cases, hypothesis properties of the confusion matrix, and bad inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import metrics as M

pytestmark = pytest.mark.unit2

SCORES = {"precision": M.precision, "recall": M.recall, "f1": M.f1}
AVERAGES = ["binary", "macro", "micro", "weighted", None]


def _random_labels(seed, n_classes, n=60, drop_class=False):
    """Random true and predicted labels; ``drop_class`` makes the last class never predicted."""
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, n_classes, n), rng.integers(0, n_classes, n)
    if drop_class:
        y_pred[y_pred == n_classes - 1] = 0
    return y_true, y_pred


SKLEARN_CASES = [
    (n_classes, average, zero_division, seed, drop)
    for n_classes in (2, 4)
    for average in AVERAGES
    if not (average == "binary" and n_classes > 2)
    for zero_division in (0, 1)
    for seed, drop in ((0, False), (1, True))
]


@pytest.mark.parametrize("n_classes, average, zero_division, seed, drop", SKLEARN_CASES)
def test_precision_recall_f1_match_sklearn(n_classes, average, zero_division, seed, drop):
    y_true, y_pred = _random_labels(seed, n_classes, drop_class=drop)
    expected = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=zero_division)
    for (name, fn), ref in zip(SCORES.items(), expected[:3]):
        got = fn(y_true, y_pred, average=average, zero_division=zero_division)
        if average is None:
            assert isinstance(got, np.ndarray) and got.shape == (len(np.unique(np.r_[y_true, y_pred])),)
        else:
            assert type(got) is float, name
        np.testing.assert_allclose(got, ref, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("y_true, y_pred, pos_label", [
    (["spam", "ham", "spam", "ham", "spam"], ["spam", "spam", "ham", "ham", "spam"], "spam"),
    ([-1, 1, 1, -1, -1, 1], [-1, -1, 1, 1, -1, 1], -1),
    ([0, 0, 0, 0], [0, 0, 0, 0], 1),   # pos_label never seen: every score is zero_division
    ([0, 0, 0, 0], [0, 1, 0, 0], 1),   # no actual positive: recall is zero_division
])
@pytest.mark.parametrize("zero_division", [0, 1])
def test_binary_scores_with_pos_label_match_sklearn(y_true, y_pred, pos_label, zero_division):
    expected = skm.precision_recall_fscore_support(y_true, y_pred, average="binary", pos_label=pos_label,
                                                   zero_division=zero_division)
    for fn, ref in zip(SCORES.values(), expected[:3]):
        assert fn(y_true, y_pred, pos_label=pos_label, zero_division=zero_division) == pytest.approx(ref)


@pytest.mark.parametrize("seed, n_classes", [(0, 2), (1, 3), (2, 5)])
def test_accuracy_confusion_matrix_and_regression_metrics_match_sklearn(seed, n_classes):
    y_true, y_pred = _random_labels(seed, n_classes, n=80)
    assert M.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), rel=1e-12)
    expected = skm.confusion_matrix(y_true, y_pred, labels=range(n_classes))
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred, num_classes=n_classes), expected)
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred), expected)
    rng = np.random.default_rng(seed)
    t, p = rng.normal(size=40), rng.normal(size=40)
    assert M.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
    assert M.rmse(t, p) == pytest.approx(math.sqrt(skm.mean_squared_error(t, p)), rel=1e-12)


def test_hand_computed_binary_example():
    # TP = 2 (samples 0, 1), FN = 1 (sample 2), FP = 1 (sample 3), TN = 1 (sample 4)
    y_true, y_pred = [1, 1, 1, 0, 0], [1, 1, 0, 1, 0]
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred), [[1, 1], [1, 2]])
    assert M.accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    assert M.precision(y_true, y_pred) == pytest.approx(2 / 3)
    assert M.recall(y_true, y_pred) == pytest.approx(2 / 3)
    assert M.f1(y_true, y_pred) == pytest.approx(2 / 3)


def test_accuracy_misleads_under_class_imbalance():
    y_true = np.r_[np.zeros(95, int), np.ones(5, int)]
    y_pred = np.zeros(100, int)  # always the majority class
    assert M.accuracy(y_true, y_pred) == pytest.approx(0.95)
    assert M.recall(y_true, y_pred) == 0.0 and M.f1(y_true, y_pred) == 0.0
    assert M.f1(y_true, y_pred, average="macro") == pytest.approx((2 * 95 / 195 + 0.0) / 2)


def test_confusion_matrix_pads_to_num_classes_and_regression_metrics_by_hand():
    np.testing.assert_array_equal(M.confusion_matrix([0, 1], [1, 1], num_classes=3),
                                  [[0, 1, 0], [0, 1, 0], [0, 0, 0]])
    assert M.confusion_matrix([2.0, 0.0], [2.0, 2.0]).dtype == np.int64
    assert M.mae([1.0, 2.0, 3.0], [1.0, 2.0, 7.0]) == pytest.approx(4 / 3)
    assert M.rmse([1.0, 2.0, 3.0], [1.0, 2.0, 7.0]) == pytest.approx(math.sqrt(16 / 3))


def test_metrics_registry():
    assert set(M.METRICS) == {"accuracy", "precision", "recall", "f1", "mae", "rmse"}
    for fn in list(M.METRICS.values()) + [M.confusion_matrix]:
        assert "sklearn.metrics" in fn.__doc__


_labels = st.lists(st.integers(0, 4), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_confusion_matrix_properties(data):
    y_true = np.array(data.draw(_labels))
    y_pred = np.array(data.draw(st.lists(st.integers(0, 4), min_size=len(y_true), max_size=len(y_true))))
    cm = M.confusion_matrix(y_true, y_pred, num_classes=5)
    assert cm.sum() == len(y_true)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=5))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=5))
    assert np.trace(cm) / cm.sum() == pytest.approx(M.accuracy(y_true, y_pred))
    # in a single-label multiclass problem micro precision = micro recall = micro F1 = accuracy
    for fn in (M.precision, M.recall, M.f1):
        assert fn(y_true, y_pred, average="micro") == pytest.approx(M.accuracy(y_true, y_pred))
    for average in ("macro", "weighted"):
        p, r, f = (fn(y_true, y_pred, average=average) for fn in (M.precision, M.recall, M.f1))
        assert 0.0 <= min(p, r, f) and max(p, r, f) <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.data())
def test_rmse_is_at_least_mae_and_zero_at_a_perfect_prediction(y_true, data):
    y_pred = data.draw(st.lists(st.floats(-1e6, 1e6), min_size=len(y_true), max_size=len(y_true)))
    assert M.rmse(y_true, y_pred) >= M.mae(y_true, y_pred) * (1 - 1e-12) - 1e-9
    assert M.mae(y_true, y_true) == 0.0 and M.rmse(y_true, y_true) == 0.0


ERRORS = [
    (lambda: M.accuracy([0, 1, 1, 0, 1], [0, 1, 1, 0]), ValueError,
     "y_true and y_pred must have the same length, got 5 and 4"),
    (lambda: M.accuracy([], []), ValueError, "y_true must not be empty"),
    (lambda: M.accuracy([[0, 1]], [[0, 1]]), ValueError,
     "y_true must be 1-D (one label per sample), got shape (1, 2)"),
    (lambda: M.accuracy(None, [1]), TypeError, "y_true must be a 1-D array of labels, got NoneType"),
    (lambda: M.accuracy([0.0, np.nan], [0.0, 1.0]), ValueError, "y_true must be finite"),
    (lambda: M.accuracy(["a", "b"], [0, 1]), TypeError, "must both hold numbers or both strings"),
    (lambda: M.precision([0, 1, 2], [0, 1, 1]), ValueError,
     "average='binary' needs at most 2 distinct labels, got 3"),
    (lambda: M.recall([0, 1], [0, 1], average="samples"), ValueError, "average must be one of"),
    (lambda: M.f1([0, 2], [2, 0]), ValueError, "pos_label must be one of the labels [0, 2], got 1"),
    (lambda: M.f1([0, 1], [1, 0], zero_division=0.5), ValueError, "zero_division must be 0 or 1"),
    (lambda: M.f1([0, 1], [1, 0], zero_division="warn"), ValueError, "zero_division must be 0 or 1"),
    (lambda: M.precision([0, 1, 1], [0, 1], average="macro"), ValueError, "got 3 and 2"),
    (lambda: M.confusion_matrix([0, 1, 3], [0, 1, 1], num_classes=3), ValueError,
     "y_true must contain class indices in [0, 3), got 3 at index (2,)"),
    (lambda: M.confusion_matrix([0, 1], [0, -1]), ValueError,
     "y_pred must contain class indices in [0, inf), got -1 at index (1,)"),
    (lambda: M.confusion_matrix([0, 1.5], [0, 1]), ValueError,
     "y_true must contain integer class indices, got 1.5"),
    (lambda: M.confusion_matrix(["a"], ["b"]), TypeError, "y_true must be an array of integer class indices"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], num_classes=0), ValueError, "num_classes must be >= 1, got 0"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], num_classes=2.0), TypeError, "num_classes must be an integer"),
    (lambda: M.mae([1.0, 2.0], [1.0]), ValueError, "y_true and y_pred must have the same length, got 2 and 1"),
    (lambda: M.rmse([[1.0, 2.0]], [[1.0, 2.0]]), ValueError, "y_true must be 1-D"),
    (lambda: M.rmse([1.0, np.inf], [1.0, 2.0]), ValueError, "y_true must be finite, got inf at index (1,)"),
    (lambda: M.rmse([], []), ValueError, "y_true must not be empty"),
    (lambda: M.mae("12", [1.0, 2.0]), TypeError, "y_true must be an array of numbers"),
]


@pytest.mark.parametrize("call, exc, message", ERRORS, ids=[f"error-{i}" for i in range(len(ERRORS))])
def test_bad_inputs_raise_clear_errors(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)
