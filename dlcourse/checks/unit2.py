"""Unit 2's exercises: what the student writes, the reference, fresh random test cases.

Every reference is (or is checked against) a function of :mod:`dlcourse.losses` or
:mod:`dlcourse.metrics`; the cases always include the inputs that separate a right answer
from a plausible wrong one (both sides of Huber's δ, logits of ±1000, zero probabilities,
active and inactive margins, a class never predicted).
"""

from __future__ import annotations

import numpy as np

from .. import losses as L
from .. import metrics as M
from .exercise import BadReturn, Exercise
from .registry import register


def _strict(fn, case):
    """``fn(**case)`` on copies, with NumPy's overflow, divide and invalid warnings turned into errors."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        return fn(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.items()})


# -- 2.1 mse_grad, 2.2 huber -------------------------------------------------------------------------
def _regression_cases(rng):
    cases = []
    for shape in [(6,), (3, 4), (2, 3, 2)]:
        cases.append({"pred": rng.normal(0, 2, shape), "target": rng.normal(0, 2, shape)})
    return cases


def _huber_cases(rng):
    cases = []
    for shape, delta in [((8,), 1.0), ((4, 3), float(rng.uniform(0.3, 2.5))), ((10,), float(rng.uniform(0.3, 2.5)))]:
        target = rng.normal(0, 1, shape)
        n = int(np.prod(shape))
        size = np.r_[rng.uniform(0.05, 0.95, n // 2), rng.uniform(1.05, 3.0, n - n // 2)]   # both sides of delta
        r = (rng.permutation(size) * delta * rng.choice([-1.0, 1.0], n)).reshape(shape)
        cases.append({"pred": target + r, "target": target, "delta": delta})
    return cases


def _huber_reference(pred, target, delta=1.0):
    return L.huber(pred, target, delta), L.huber_grad(pred, target, delta)


def _run_huber(fn, case):
    out = fn(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.items()})
    if not isinstance(out, tuple) or len(out) != 2:
        raise BadReturn(f"must return a tuple (loss, grad), got {type(out).__name__}")
    return {"loss": out[0], "grad": out[1]}


# -- 2.3 bce_with_logits, 2.4 cross_entropy ----------------------------------------------------------
def _bce_cases(rng):
    cases = [{"logits": rng.normal(0, 2, (6,)), "target": rng.integers(0, 2, 6).astype(float)},
             {"logits": rng.normal(0, 3, (3, 4)), "target": rng.uniform(0, 1, (3, 4))},
             {"logits": np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0, 1000.0]),
              "target": np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])}]
    return cases


def _ce_cases(rng):
    cases = []
    for n, c, scale in [(4, 3, 1.0), (6, 5, 3.0), (3, 4, 300.0)]:
        cases.append({"logits": rng.normal(0, scale, (n, c)), "labels": rng.integers(0, c, n)})
    cases[-1]["logits"][0] = [1000.0, -1000.0, 0.0, 5.0]   # exp(1000) overflows without the log-sum-exp shift
    cases[-1]["labels"][0] = 1                              # and log(0) appears if one takes log of the softmax
    return cases


def _ce_reference(logits, labels):
    return L.cross_entropy(logits, labels)


# -- 2.5 kl_divergence ---------------------------------------------------------------------------------
def _kl_reference(p, q):
    """D_KL(P || Q) for rows of P and Q, averaged over rows; 0 log 0 = 0."""
    return L.kl_divergence(q, p)


def _kl_cases(rng):
    cases = [{"p": np.array([[0.7, 0.2, 0.1]]), "q": np.array([[0.6, 0.3, 0.1]])}]
    for n, c in [(3, 4), (5, 3)]:
        p, q = rng.dirichlet(np.ones(c), n), rng.dirichlet(np.ones(c), n)
        cases.append({"p": p, "q": q})
    p = rng.dirichlet(np.ones(4), 3)
    p[:, 0] = 0.0                                           # an impossible class: 0 log 0 must count as 0
    cases.append({"p": p / p.sum(axis=1, keepdims=True), "q": rng.dirichlet(np.ones(4), 3)})
    return cases


# -- 2.6 multiclass_hinge, 2.7 triplet_loss --------------------------------------------------------------
def _hinge_reference(scores, labels):
    return L.multiclass_hinge(scores, labels)


def _hinge_cases(rng):
    cases = [{"scores": np.array([[3.2, 5.1, -1.7]]), "labels": np.array([0])}]
    for n, c in [(5, 3), (6, 4), (4, 10)]:
        scores = rng.normal(0, 1.5, (n, c))
        labels = rng.integers(0, c, n)
        scores[0, labels[0]] += 5.0                          # one row with every margin satisfied
        cases.append({"scores": scores, "labels": labels})
    return cases


def _triplet_reference(anchor, positive, negative, margin=1.0):
    """Mean of max(0, |a - p| - |a - n| + margin), Euclidean distances (no epsilon)."""
    d_pos = np.linalg.norm(anchor - positive, axis=1)
    d_neg = np.linalg.norm(anchor - negative, axis=1)
    return float(np.mean(np.maximum(0.0, d_pos - d_neg + margin)))


def _triplet_cases(rng):
    cases = [{"anchor": np.array([[0.0, 0.0]]), "positive": np.array([[0.8, 0.0]]),
              "negative": np.array([[0.0, 1.0]]), "margin": 0.5}]
    for n, d, margin in [(6, 2, 1.0), (8, 5, 0.5), (5, 3, 2.0)]:
        a = rng.normal(0, 1, (n, d))
        cases.append({"anchor": a, "positive": a + rng.normal(0, 0.7, (n, d)),
                      "negative": a + rng.normal(0, 1.2, (n, d)), "margin": margin})
    return cases


# -- 2.8 precision_recall_f1 -----------------------------------------------------------------------------
def _prf_reference(y_true, y_pred):
    return (M.precision(y_true, y_pred, zero_division=0), M.recall(y_true, y_pred, zero_division=0),
            M.f1(y_true, y_pred, zero_division=0))


def _prf_cases(rng):
    cases = []
    for n, p_pos in [(20, 0.5), (40, 0.15), (15, 0.3)]:
        y_true = (rng.random(n) < p_pos).astype(int)
        y_pred = np.where(rng.random(n) < 0.7, y_true, 1 - y_true)
        cases.append({"y_true": y_true, "y_pred": y_pred})
    cases.append({"y_true": np.array([1, 0, 0, 1, 0, 0]), "y_pred": np.zeros(6, int)})   # nothing predicted positive
    cases.append({"y_true": np.zeros(5, int), "y_pred": np.zeros(5, int)})                # no positives at all
    return cases


register(
    Exercise("2.1", "mse_grad", "the gradient of the mean squared error", L.mse_grad, _regression_cases,
             hint="L = mean((pred - target)**2) over all N = pred.size elements, so each element's derivative "
                  "is 2 * (pred - target) / N. Keep the sign: pred minus target."),
    Exercise("2.2", "huber", "the Huber loss and its gradient", _huber_reference, _huber_cases, _run_huber,
             hint="With r = pred - target: 0.5 * r**2 where |r| < delta, else delta * (|r| - 0.5 * delta); average "
                  "over all elements. The gradient is np.clip(r, -delta, delta) / r.size. Return (loss, grad)."),
    Exercise("2.3", "bce_with_logits", "binary cross-entropy on logits, without overflow",
             L.binary_cross_entropy_with_logits, _bce_cases, _strict,
             hint="Per element, max(z, 0) - z * y + log(1 + exp(-|z|)); use np.log1p and np.abs so that exp never "
                  "sees a large positive number, then take the mean."),
    Exercise("2.4", "cross_entropy", "cross-entropy by the log-sum-exp trick", _ce_reference, _ce_cases, _strict,
             hint="log softmax(z)_k = z_k - m - log(sum_j exp(z_j - m)) with m the row maximum. Pick the label's "
                  "entry in each row (logits[np.arange(N), labels]) and average minus that over the rows."),
    Exercise("2.5", "kl_divergence", "the KL divergence D(P || Q)", _kl_reference, _kl_cases, _strict,
             hint="Sum p * log(p / q) over each row, skipping the entries where p == 0 (they contribute 0), then "
                  "average over rows. np.where evaluates both branches, so mask before taking the log."),
    Exercise("2.6", "multiclass_hinge", "the Weston-Watkins multiclass hinge loss", _hinge_reference, _hinge_cases,
             hint="margins = np.maximum(0, scores - s_true[:, None] + 1), with s_true the label's score per row; set "
                  "the label's own entry to 0 (j = y is not summed), sum each row, average over rows."),
    Exercise("2.7", "triplet_loss", "the triplet margin loss", _triplet_reference, _triplet_cases,
             hint="Euclidean distances per row: np.linalg.norm(anchor - positive, axis=1), the same for the "
                  "negative; then the mean of np.maximum(0, d_pos - d_neg + margin). Not squared.",
             rtol=1e-5, atol=1e-6),
    Exercise("2.8", "precision_recall_f1", "precision, recall and F1 from predictions", _prf_reference, _prf_cases,
             hint="Count TP = (y_pred == 1) & (y_true == 1), FP, FN. precision = TP/(TP+FP), recall = TP/(TP+FN), "
                  "F1 = 2TP/(2TP+FP+FN); return 0.0 for a ratio whose denominator is 0.",
             outputs=("precision", "recall", "f1")),
)
