"""Unit 2's self-checking exercises: references pass, stubs are "not attempted", plausible wrong
answers are caught with a message that names the output, expected and received values and gives
the hint; and every solution written in the Unit 2 notebooks passes its check.
"""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.unit2

import dlcourse.checks as checks  # noqa: E402
from dlcourse import losses as L  # noqa: E402
from dlcourse.checks import ERROR, NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise, progress  # noqa: E402
from exercise_support import SEEDS, assert_caught, assert_solutions_pass, notebook_solutions, solution_ids  # noqa: E402

UNIT2_IDS = [f"2.{i}" for i in range(1, 9)]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 2.x: replace this line with your code")


# -- plausible wrong answers ------------------------------------------------------------------------------
def mse_grad_without_the_2(pred, target):
    return (pred - target) / pred.size


def mse_grad_wrong_sign(pred, target):
    return 2 * (target - pred) / pred.size


def mse_grad_not_averaged(pred, target):
    return 2 * (pred - target)


def mse_grad_divided_by_rows(pred, target):
    return 2 * (pred - target) / len(pred)


def _r(pred, target):
    return pred - target


def huber_without_the_half(pred, target, delta=1.0):
    r = _r(pred, target)
    v = np.where(np.abs(r) < delta, r ** 2, delta * (np.abs(r) - 0.5 * delta))
    return float(v.mean()), np.clip(r, -delta, delta) / r.size


def huber_linear_branch_without_offset(pred, target, delta=1.0):
    r = _r(pred, target)
    v = np.where(np.abs(r) < delta, 0.5 * r ** 2, delta * np.abs(r))
    return float(v.mean()), np.clip(r, -delta, delta) / r.size


def huber_grad_sign(pred, target, delta=1.0):
    r = _r(pred, target)
    return L.huber(pred, target, delta), np.sign(r) / r.size


def huber_returns_the_loss_only(pred, target, delta=1.0):
    return L.huber(pred, target, delta)


def bce_naive(logits, target):
    p = 1 / (1 + np.exp(-logits))
    return float(np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p))))


def bce_softplus_overflows(logits, target):
    return float(np.mean(np.log(1 + np.exp(logits)) - logits * target))


def bce_sign_error(logits, target):
    return float(np.mean(np.maximum(logits, 0) + logits * target + np.log1p(np.exp(-np.abs(logits)))))


def bce_without_the_log_term(logits, target):
    return float(np.mean(np.maximum(logits, 0) - logits * target))


def ce_naive(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def ce_log_of_shifted_softmax(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def ce_forgets_to_add_back_the_max(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(lse - logits[np.arange(len(labels)), labels]))


def ce_sum_not_mean(logits, labels):
    return L.cross_entropy(logits, labels) * len(labels)


def kl_reversed(p, q):
    return float(np.sum(q * np.log(q / p)) / len(p))


def kl_without_the_zero_mask(p, q):
    return float(np.sum(p * np.log(p / q)) / len(p))


def kl_summed_over_rows(p, q):
    return L.kl_divergence(q, p) * len(p)


def kl_in_bits(p, q):
    return L.kl_divergence(q, p) / math.log(2)


def _true_scores(scores, labels):
    return scores[np.arange(len(scores)), labels][:, None]


def hinge_includes_the_true_class(scores, labels):
    return float(np.maximum(0, scores - _true_scores(scores, labels) + 1).sum(axis=1).mean())


def hinge_without_the_margin(scores, labels):
    m = np.maximum(0, scores - _true_scores(scores, labels))
    return float(m.sum(axis=1).mean())


def hinge_max_instead_of_sum(scores, labels):
    m = np.maximum(0, scores - _true_scores(scores, labels) + 1)
    m[np.arange(len(scores)), labels] = 0
    return float(m.max(axis=1).mean())


def hinge_sum_over_rows(scores, labels):
    return L.multiclass_hinge(scores, labels) * len(scores)


def triplet_squared_distances(anchor, positive, negative, margin=1.0):
    dp, dn = np.sum((anchor - positive) ** 2, axis=1), np.sum((anchor - negative) ** 2, axis=1)
    return float(np.mean(np.maximum(0, dp - dn + margin)))


def triplet_without_the_clip(anchor, positive, negative, margin=1.0):
    dp, dn = np.linalg.norm(anchor - positive, axis=1), np.linalg.norm(anchor - negative, axis=1)
    return float(np.mean(dp - dn + margin))


def triplet_norm_of_everything(anchor, positive, negative, margin=1.0):
    return float(max(0.0, np.linalg.norm(anchor - positive) - np.linalg.norm(anchor - negative) + margin))


def triplet_negative_closer(anchor, positive, negative, margin=1.0):
    dp, dn = np.linalg.norm(anchor - positive, axis=1), np.linalg.norm(anchor - negative, axis=1)
    return float(np.mean(np.maximum(0, dn - dp + margin)))


def _counts(y_true, y_pred):
    tp = np.sum((y_pred == 1) & (y_true == 1))
    fp = np.sum((y_pred == 1) & (y_true == 0))
    fn = np.sum((y_pred == 0) & (y_true == 1))
    return tp, fp, fn


def prf_swapped(y_true, y_pred):
    tp, fp, fn = _counts(y_true, y_pred)
    p = tp / (tp + fn) if tp + fn else 0.0
    r = tp / (tp + fp) if tp + fp else 0.0
    return p, r, 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def prf_arithmetic_mean(y_true, y_pred):
    tp, fp, fn = _counts(y_true, y_pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (p + r) / 2


def prf_nan_when_undefined(y_true, y_pred):
    tp, fp, fn = (np.float64(c) for c in _counts(y_true, y_pred))
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)


def prf_accuracy_for_precision(y_true, y_pred):
    tp, fp, fn = _counts(y_true, y_pred)
    r = tp / (tp + fn) if tp + fn else 0.0
    return float(np.mean(y_true == y_pred)), r, 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


WRONG_ANSWERS = [
    # (exercise, function, status, a fragment the message must contain)
    ("2.1", mse_grad_without_the_2, WRONG, "output at index"),
    ("2.1", mse_grad_wrong_sign, WRONG, "output at index"),
    ("2.1", mse_grad_not_averaged, WRONG, "output at index"),
    ("2.1", mse_grad_divided_by_rows, WRONG, "test case 2"),
    ("2.2", huber_without_the_half, WRONG, "loss is"),
    ("2.2", huber_linear_branch_without_offset, WRONG, "loss is"),
    ("2.2", huber_grad_sign, WRONG, "grad at index"),
    ("2.2", huber_returns_the_loss_only, WRONG, "must return a tuple (loss, grad)"),
    ("2.3", bce_naive, ERROR, "FloatingPointError"),
    ("2.3", bce_softplus_overflows, ERROR, "FloatingPointError: overflow"),
    ("2.3", bce_sign_error, WRONG, "output is"),
    ("2.3", bce_without_the_log_term, WRONG, "output is"),
    ("2.4", ce_naive, ERROR, "FloatingPointError: overflow"),
    ("2.4", ce_log_of_shifted_softmax, ERROR, "FloatingPointError: divide by zero"),
    ("2.4", ce_forgets_to_add_back_the_max, WRONG, "output is"),
    ("2.4", ce_sum_not_mean, WRONG, "output is"),
    ("2.5", kl_reversed, WRONG, "output is"),
    ("2.5", kl_without_the_zero_mask, ERROR, "FloatingPointError"),
    ("2.5", kl_summed_over_rows, WRONG, "test case 2"),
    ("2.5", kl_in_bits, WRONG, "output is"),
    ("2.6", hinge_includes_the_true_class, WRONG, "output is"),
    ("2.6", hinge_without_the_margin, WRONG, "output is"),
    ("2.6", hinge_max_instead_of_sum, WRONG, "output is"),
    ("2.6", hinge_sum_over_rows, WRONG, "test case 2"),
    ("2.7", triplet_squared_distances, WRONG, "output is"),
    ("2.7", triplet_without_the_clip, WRONG, "output is"),
    ("2.7", triplet_norm_of_everything, WRONG, "output is"),
    ("2.7", triplet_negative_closer, WRONG, "output is"),
    ("2.8", prf_swapped, WRONG, "precision is"),
    ("2.8", prf_arithmetic_mean, WRONG, "f1 is"),
    ("2.8", prf_nan_when_undefined, WRONG, "(not finite)"),
    ("2.8", prf_accuracy_for_precision, WRONG, "precision is"),
]

@pytest.mark.parametrize("ex_id", UNIT2_IDS)
def test_a_stub_is_not_attempted(ex_id):
    result = check(ex_id, stub)
    assert result.status == NOT_ATTEMPTED and "not attempted" in result.message


@pytest.mark.parametrize("ex_id, fn, status, fragment", WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed)


# -- what the cases must contain ------------------------------------------------------------------------------
def test_huber_cases_cover_both_branches():
    for seed in range(10):
        for case in get_exercise("2.2").cases(np.random.default_rng(seed)):
            r = np.abs(case["pred"] - case["target"])
            assert np.any(r < case["delta"]) and np.any(r > case["delta"])


def test_the_numerically_hard_cases_are_there():
    rng = np.random.default_rng(0)
    assert np.abs(get_exercise("2.3").cases(rng)[-1]["logits"]).max() >= 1000
    assert np.abs(get_exercise("2.4").cases(rng)[-1]["logits"]).max() >= 1000
    assert any(np.any(c["p"] == 0) for c in get_exercise("2.5").cases(rng))
    hinge = get_exercise("2.6").cases(rng)
    assert L.multiclass_hinge(hinge[0]["scores"], hinge[0]["labels"]) == pytest.approx(2.9)
    prf = get_exercise("2.8").cases(rng)
    assert any(not np.any(c["y_pred"] == 1) for c in prf) and any(not np.any(c["y_true"] == 1) for c in prf)


def test_the_triplet_reference_is_torch_up_to_its_epsilon():
    ex = get_exercise("2.7")
    for case in ex.cases(np.random.default_rng(3)):
        assert ex.reference(**case) == pytest.approx(L.triplet_margin(**case), rel=ex.rtol, abs=ex.atol)
    assert ex.reference(**ex.cases(np.random.default_rng(0))[0]) == pytest.approx(0.3)   # the notes' case


def test_the_checks_do_not_modify_the_inputs_they_hand_out():
    def scribbler(**kwargs):
        for v in kwargs.values():
            if isinstance(v, np.ndarray):
                v[...] = 0
        raise ValueError("done")

    for ex_id in UNIT2_IDS:
        ex = get_exercise(ex_id)
        case = ex.cases(np.random.default_rng(0))[0]
        before = {k: np.copy(v) for k, v in case.items()}
        with pytest.raises(ValueError):
            ex.run(lambda **kw: scribbler(**kw), case)
        for k, v in before.items():
            np.testing.assert_array_equal(case[k], v)


def test_exercise_metadata_and_progress():
    for ex_id in UNIT2_IDS:
        ex = get_exercise(ex_id)
        assert ex.unit == 2 and ex.hint and ex.title
    rows = progress(2)
    assert [r[0] for r in rows] == UNIT2_IDS
    check("2.1", get_exercise("2.1").reference)
    check("2.2", huber_without_the_half)
    statuses = dict((i, s) for i, _, s in progress(2))
    assert statuses == {"2.1": PASSED, "2.2": WRONG, **{i: NOT_ATTEMPTED for i in UNIT2_IDS[2:]}}


# -- the notebooks' solutions ------------------------------------------------------------------------------------
SOLUTIONS = notebook_solutions("02-losses")


def test_every_unit2_exercise_has_one_solution_in_a_notebook():
    assert solution_ids(SOLUTIONS) == UNIT2_IDS


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS))
def test_the_notebook_solutions_pass_their_checks(notebook):
    assert_solutions_pass(notebook, SOLUTIONS[notebook], {"np": np, "math": math})
