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
from .exercise import BadReturn, Exercise, skeleton
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


# The hint levels of each exercise (Exercise.hints): the idea, the formula, a skeleton with blanks.
_HINTS = {
    "2.1": (
        r"Differentiate one term of the sum with respect to its own prediction: the other terms do not depend on "
        r"it. Then remember the mean: $N$ counts *every* element, whatever the shape of `pred`.",
        r"$L = \frac1N\sum_i(\hat y_i - y_i)^2$ gives $\partial L/\partial\hat y_i = \frac{2}{N}(\hat y_i - y_i)$, "
        r"with $N$ = `pred.size` (`len(pred)` counts only the rows). The result has the shape of `pred`.",
        skeleton("""
            diff = ____ - ____                 # as float arrays
            return ____ * diff / ____
        """),
    ),
    "2.2": (
        r"Huber's loss is quadratic for small residuals and linear for large ones, joined smoothly at "
        r"$|r| = \delta$. So its derivative is the residual itself inside, and a constant $\pm\delta$ outside: a "
        r"*clipped* residual.",
        r"With $r = \hat y - y$: $\ell(r) = \tfrac12 r^2$ if $|r| < \delta$, else $\delta\,(|r| - \tfrac12\delta)$. "
        r"The loss is the mean of $\ell$ over all $N$ elements (a float), and "
        r"$\partial L/\partial\hat y_i = \ell'(r_i)/N$ with $\ell'(r) = r$ inside and $\delta\,\mathrm{sign}(r)$ "
        r"outside, that is $r$ clipped to $[-\delta, \delta]$.",
        skeleton("""
            r = ____ - ____
            inside = ____                             # boolean: |r| < delta
            per_element = np.where(inside, ____, ____)
            loss = float(____)
            grad = np.clip(____, ____, ____) / ____
            return loss, grad
        """),
    ),
    "2.3": (
        r"Write the loss in terms of the logit $z$, not the probability $\sigma(z)$, and rearrange it so that "
        r"`np.exp` only ever sees numbers $\le 0$. Then nothing overflows, even at $z = \pm 1000$.",
        r"Per element, $-y\log\sigma(z) - (1-y)\log(1-\sigma(z)) = \max(z, 0) - z\,y + \log(1 + e^{-|z|})$. "
        r"`np.log1p(u)` computes $\log(1 + u)$ accurately even for tiny $u$. Return the mean over all elements, as "
        r"a float.",
        skeleton("""
            z, y = ____, ____                  # logits and targets as float arrays
            per_element = np.maximum(____, 0.0) - ____ + np.log1p(np.exp(____))
            return float(____)
        """),
    ),
    "2.4": (
        r"Never compute the softmax and then its log: a probability such as $e^{-2000}$ rounds to 0, and its log is "
        r"$-\infty$. Stay with logarithms all the way, with the log-sum-exp trick above.",
        r"$-\log\operatorname{softmax}(z)_t = \log\sum_j e^{z_j} - z_t = m + \log\sum_j e^{z_j - m} - z_t$ with "
        r"$m = \max_j z_j$, one $m$ per row. Shapes: logits $(N, C)$ give $N$ losses; return their mean as a float.",
        skeleton("""
            z = ____                                     # logits as a float array
            m = z.max(axis=____, keepdims=____)          # (N, 1)
            log_sum_exp = m[:, 0] + np.log(____)         # (N,)
            picked = z[____, labels]                     # each row's true-class logit, (N,)
            return float(np.mean(____))
        """),
    ),
    "2.5": (
        r"Sum $p_i \log(p_i/q_i)$ along each row, then average over the rows. A term with $p_i = 0$ counts as 0 "
        r"(the limit of $p\log p$), so never evaluate the log there — not even inside `np.where`, which computes "
        r"both branches everywhere.",
        r"$D_{KL}(P\|Q) = \frac1N\sum_n\sum_{i:\,p_{ni} > 0} p_{ni}\log\dfrac{p_{ni}}{q_{ni}}$. A boolean mask "
        r"selects the entries with $p > 0$; indexing with it gives flat arrays of just those entries. The mean is "
        r"over rows ($N$ = `p.shape[0]`), not over all $N \times C$ entries.",
        skeleton("""
            terms = ____                      # zeros shaped like p
            nz = ____                         # boolean mask: p > 0
            terms[nz] = ____                  # p log(p / q) on those entries only
            return float(terms.sum() / ____)
        """),
    ),
    "2.6": (
        r"Each wrong class pays when its score comes within a margin of 1 of the true class's score; the true "
        r"class itself pays nothing. Sum over the classes, average over the rows.",
        r"$L = \frac1N\sum_n\sum_{j \ne y_n}\max(0,\ s_{nj} - s_{n y_n} + 1)$. To vectorise, make each row's true "
        r"score a column, shape $(N, 1)$, so that it broadcasts over the $C$ columns; clip at 0; then set the "
        r"true-class entries to 0 — otherwise each would add $\max(0, 1) = 1$.",
        skeleton("""
            s = ____                                          # scores as floats, (N, C)
            rows = ____                                       # 0, 1, ..., N - 1
            margins = np.maximum(0.0, s - ____ + ____)        # (N, C)
            margins[rows, labels] = ____
            return float(____)
        """),
    ),
    "2.7": (
        r"For each row: is the anchor closer to the positive than to the negative, by at least the margin? Then the "
        r"row costs nothing; otherwise it costs the shortfall.",
        r"$L = \frac1N\sum_n \max\bigl(0,\ \|a_n - p_n\|_2 - \|a_n - n_n\|_2 + m\bigr)$, with plain (not squared) "
        r"Euclidean distances, one per row: `np.linalg.norm(..., axis=1)` turns $(N, D)$ into $(N,)$.",
        skeleton("""
            d_pos = np.linalg.norm(____, axis=____)       # (N,)
            d_neg = ____
            return float(np.mean(np.maximum(____, ____)))
        """),
    ),
    "2.8": (
        r"Count three kinds of examples: true positives (predicted 1, truly 1), false positives (predicted 1, "
        r"truly 0) and false negatives (predicted 0, truly 1). All three scores are ratios of these counts.",
        r"$P = \frac{TP}{TP + FP}$, $R = \frac{TP}{TP + FN}$, $F_1 = \frac{2PR}{P + R} = "
        r"\frac{2\,TP}{2\,TP + FP + FN}$; a score whose denominator is 0 is 0.0. Count with boolean masks: "
        r"`y_pred == 1` is True where the prediction is positive; combine two masks with `&`, and `np.sum` "
        r"counts the Trues.",
        skeleton("""
            tp = np.sum(____ & ____)
            fp = ____
            fn = ____
            precision = tp / (tp + fp) if ____ else 0.0
            recall = ____
            f1 = ____
            return ____, ____, ____                 # three floats
        """),
    ),
}


register(
    Exercise("2.1", "mse_grad", "the gradient of the mean squared error", L.mse_grad, _regression_cases,
             hints=_HINTS["2.1"]),
    Exercise("2.2", "huber", "the Huber loss and its gradient", _huber_reference, _huber_cases, _run_huber,
             hints=_HINTS["2.2"]),
    Exercise("2.3", "bce_with_logits", "binary cross-entropy on logits, without overflow",
             L.binary_cross_entropy_with_logits, _bce_cases, _strict,
             hints=_HINTS["2.3"]),
    Exercise("2.4", "cross_entropy", "cross-entropy by the log-sum-exp trick", _ce_reference, _ce_cases, _strict,
             hints=_HINTS["2.4"]),
    Exercise("2.5", "kl_divergence", "the KL divergence D(P || Q)", _kl_reference, _kl_cases, _strict,
             hints=_HINTS["2.5"]),
    Exercise("2.6", "multiclass_hinge", "the Weston-Watkins multiclass hinge loss", _hinge_reference, _hinge_cases,
             hints=_HINTS["2.6"]),
    Exercise("2.7", "triplet_loss", "the triplet margin loss", _triplet_reference, _triplet_cases,
             hints=_HINTS["2.7"],
             rtol=1e-5, atol=1e-6),
    Exercise("2.8", "precision_recall_f1", "precision, recall and F1 from predictions", _prf_reference, _prf_cases,
             hints=_HINTS["2.8"],
             outputs=("precision", "recall", "f1")),
)
