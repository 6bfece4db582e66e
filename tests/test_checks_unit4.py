"""Unit 4's self-checking exercises: references pass, stubs are "not attempted", plausible wrong answers
are caught with a message that names the output and gives the hint, and every solution written in the
Unit 4 notebooks passes its check.
"""

import re

import numpy as np
import pytest

pytestmark = pytest.mark.unit4

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise, progress  # noqa: E402
from dlcourse.checks.exercise import as_outputs  # noqa: E402
from dlcourse.explore.unit4_overfit import replay_early_stopping  # noqa: E402
from dlcourse.layers import Dropout  # noqa: E402
from exercise_support import SEEDS, assert_caught, assert_solutions_pass, notebook_solutions, solution_ids  # noqa: E402

UNIT4_IDS = [f"4.{i}" for i in range(1, 10)]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 4.x: replace this line with your code")


# -- plausible wrong answers ------------------------------------------------------------------------
def folds_plain_kfold(y, k):                     # consecutive blocks: ignores the classes
    return np.arange(len(y)) * k // len(y)


def folds_round_robin_unsorted(y, k):            # deals without sorting by class first
    return np.arange(len(y)) % k


def folds_restart_each_class(y, k):              # each class dealt from fold 0 again: fold 0 too big
    ids = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        where = np.flatnonzero(y == c)
        ids[where] = np.arange(len(where)) % k
    return ids


def folds_one_based(y, k):
    order = np.argsort(y, kind="stable")
    ids = np.empty(len(y), dtype=int)
    ids[order] = np.arange(len(y)) % k + 1
    return ids


def folds_valid_other_order(y, k):               # a correct answer that deals in reverse: must pass
    order = np.argsort(y, kind="stable")[::-1]
    ids = np.empty(len(y), dtype=int)
    ids[order] = np.arange(len(y)) % k
    return ids


def l2_penalizes_biases(params, alpha):
    return (0.5 * alpha * sum(np.sum(v ** 2) for v in params.values()),
            {k: alpha * v for k, v in params.items()})


def l2_grad_without_the_half(params, alpha):
    pen = 0.5 * alpha * sum(np.sum(v ** 2) for k, v in params.items() if "bias" not in k)
    return pen, {k: (2 * alpha * v if "bias" not in k else np.zeros_like(v)) for k, v in params.items()}


def l2_penalty_without_the_half(params, alpha):
    pen = alpha * sum(np.sum(v ** 2) for k, v in params.items() if "bias" not in k)
    return pen, {k: (alpha * v if "bias" not in k else np.zeros_like(v)) for k, v in params.items()}


def l2_decays_in_place(params, alpha):
    pen = 0.5 * alpha * sum(np.sum(v ** 2) for k, v in params.items() if "bias" not in k)
    grads = {}
    for k, v in params.items():
        grads[k] = alpha * v.copy() if "bias" not in k else np.zeros_like(v)
        if "bias" not in k:
            v *= 1 - alpha
    return pen, grads


def l2_forgets_the_bias_entries(params, alpha):
    pen = 0.5 * alpha * sum(np.sum(v ** 2) for k, v in params.items() if "bias" not in k)
    return pen, {k: alpha * v for k, v in params.items() if "bias" not in k}


def dropout_standard(x, mask, p, training):      # not inverted: no rescaling
    return x * mask if training else x


def dropout_scales_by_keep(x, mask, p, training):
    return x * mask * (1 - p) if training else x


def dropout_ignores_mode(x, mask, p, training):
    return x * mask / (1 - p)


def dropout_scales_by_p(x, mask, p, training):
    return x * mask / p if training and p > 0 else x


def dropout_backward_unscaled(grad_out, mask, p):
    return grad_out * mask


def dropout_backward_identity(grad_out, mask, p):
    return grad_out


def dropout_backward_keep_scale(grad_out, mask, p):
    return grad_out * mask * (1 - p)


def _bn(x, gamma, beta, running_mean, running_var, momentum, eps, training, unbiased_norm=False,
        biased_running=False, decay=False, batch_in_eval=False, eps_outside=False):
    if training or batch_in_eval:
        mean, var = x.mean(0), x.var(0, ddof=1 if unbiased_norm else 0)
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    out = gamma * (x - mean) / std + beta
    if training:
        n = len(x)
        batch_var = x.var(0) if biased_running else x.var(0) * n / (n - 1)
        m = 1 - momentum if decay else momentum
        running_mean = (1 - m) * running_mean + m * x.mean(0)
        running_var = (1 - m) * running_var + m * batch_var
    return out, running_mean, running_var


def bn_unbiased_variance(**kw):
    return _bn(**kw, unbiased_norm=True)


def bn_biased_running_var(**kw):
    return _bn(**kw, biased_running=True)


def bn_momentum_as_decay(**kw):
    return _bn(**kw, decay=True)


def bn_batch_stats_in_eval(**kw):
    return _bn(**kw, batch_in_eval=True)


def bn_eps_outside_sqrt(**kw):
    return _bn(**kw, eps_outside=True)


def _stopper(val_losses, patience, min_delta, tie_improves=False, strict=False, last=False, no_delta=False):
    best, best_epoch, bad = np.inf, -1, 0
    for epoch, v in enumerate(val_losses):
        better = v <= best - min_delta if tie_improves else v < best - (0 if no_delta else min_delta)
        if better:
            best, best_epoch, bad = v, epoch, 0
        else:
            bad += 1
            if (bad > patience) if strict else (bad >= patience):
                return epoch, (epoch if last else best_epoch)
    return len(val_losses) - 1, (len(val_losses) - 1 if last else best_epoch)


def es_ties_improve(val_losses, patience, min_delta):
    return _stopper(val_losses, patience, min_delta, tie_improves=True)


def es_one_epoch_late(val_losses, patience, min_delta):
    return _stopper(val_losses, patience, min_delta, strict=True)


def es_returns_the_last_epoch(val_losses, patience, min_delta):
    return _stopper(val_losses, patience, min_delta, last=True)


def es_ignores_min_delta(val_losses, patience, min_delta):
    return _stopper(val_losses, patience, min_delta, no_delta=True)


def bootstrap_without_replacement(n, rng):
    idx = rng.permutation(n)
    return idx, np.setdiff1d(np.arange(n), idx)


def bootstrap_off_by_one(n, rng):
    idx = rng.integers(1, n + 1, size=n)
    return idx, np.setdiff1d(np.arange(n), idx)


def bootstrap_wrong_oob(n, rng):
    idx = rng.integers(0, n, size=n)
    return idx, np.unique(idx)


def bootstrap_half_sample(n, rng):
    idx = rng.integers(0, n, size=n // 2)
    return idx, np.setdiff1d(np.arange(n), idx)


def bootstrap_with_choice(n, rng):                # a correct answer that calls the generator differently
    idx = np.sort(rng.choice(n, size=n, replace=True))
    return idx, np.setdiff1d(np.arange(n), idx)


def vote_by_rounding_the_mean(predictions):
    return np.round(np.asarray(predictions).mean(axis=0)).astype(int)


def vote_ties_to_largest(predictions):
    P = np.asarray(predictions)
    out = []
    for col in P.T:
        labels, counts = np.unique(col, return_counts=True)
        out.append(labels[len(counts) - 1 - np.argmax(counts[::-1])])
    return np.array(out)


def vote_along_the_wrong_axis(predictions):
    P = np.asarray(predictions)
    return np.array([np.bincount(row).argmax() for row in P])


def vote_by_bincount_index(predictions):           # the count's position, not the label
    P = np.asarray(predictions)
    return np.array([np.argmax(np.unique(col, return_counts=True)[1]) for col in P.T])


def fgsm_without_clip(x, grad, eps):
    return x + eps * np.sign(grad)


def fgsm_uses_the_gradient(x, grad, eps):
    return np.clip(x + eps * grad, 0, 1)


def fgsm_descends(x, grad, eps):
    return np.clip(x - eps * np.sign(grad), 0, 1)


WRONG_ANSWERS = [
    ("4.1", folds_plain_kfold, WRONG, "members of each class per fold"),
    ("4.1", folds_round_robin_unsorted, WRONG, "members of each class per fold"),
    ("4.1", folds_restart_each_class, WRONG, "fold sizes (sorted)"),
    ("4.1", folds_one_based, WRONG, "fold ids must be the integers 0 to"),
    ("4.2", l2_penalizes_biases, WRONG, "penalty"),
    ("4.2", l2_grad_without_the_half, WRONG, "grads['0.weight']"),
    ("4.2", l2_penalty_without_the_half, WRONG, "penalty"),
    ("4.2", l2_decays_in_place, WRONG, "after the call"),
    ("4.2", l2_forgets_the_bias_entries, WRONG, "give every parameter a gradient"),
    ("4.3", dropout_standard, WRONG, "output at index"),
    ("4.3", dropout_scales_by_keep, WRONG, "output at index"),
    ("4.3", dropout_ignores_mode, WRONG, "output at index"),
    ("4.3", dropout_scales_by_p, WRONG, "output at index"),
    ("4.4", dropout_backward_unscaled, WRONG, "output at index"),
    ("4.4", dropout_backward_identity, WRONG, "output at index"),
    ("4.4", dropout_backward_keep_scale, WRONG, "output at index"),
    ("4.5", bn_unbiased_variance, WRONG, "out at index"),
    ("4.5", bn_biased_running_var, WRONG, "running_var at index"),
    ("4.5", bn_momentum_as_decay, WRONG, "running_mean at index"),
    ("4.5", bn_batch_stats_in_eval, WRONG, "out at index"),
    ("4.5", bn_eps_outside_sqrt, WRONG, "out at index"),
    ("4.6", es_ties_improve, WRONG, "_epoch"),
    ("4.6", es_one_epoch_late, WRONG, "stop_epoch"),
    ("4.6", es_returns_the_last_epoch, WRONG, "best_epoch"),
    ("4.6", es_ignores_min_delta, WRONG, "_epoch"),
    ("4.7", bootstrap_without_replacement, WRONG, "drawn with replacement"),
    ("4.7", bootstrap_off_by_one, WRONG, "outside 0..n-1"),
    ("4.7", bootstrap_wrong_oob, WRONG, "out_of_bag is not the set"),
    ("4.7", bootstrap_half_sample, WRONG, "len(indices) != n"),
    ("4.8", vote_by_rounding_the_mean, WRONG, "output at index"),
    ("4.8", vote_ties_to_largest, WRONG, "output at index"),
    ("4.8", vote_along_the_wrong_axis, WRONG, "output has shape"),
    ("4.8", vote_by_bincount_index, WRONG, "output at index"),
    ("4.9", fgsm_without_clip, WRONG, "output at index"),
    ("4.9", fgsm_uses_the_gradient, WRONG, "output at index"),
    ("4.9", fgsm_descends, WRONG, "output at index"),
]


# -- references, stubs, errors --------------------------------------------------------------------


@pytest.mark.parametrize("ex_id", UNIT4_IDS)
def test_a_stub_is_not_attempted(ex_id):
    result = check(ex_id, stub)
    assert result.status == NOT_ATTEMPTED and "NotImplementedError" in result.message


@pytest.mark.parametrize("ex_id, fn, status, fragment", WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed)


@pytest.mark.parametrize("ex_id, fn", [("4.1", folds_valid_other_order), ("4.7", bootstrap_with_choice)])
def test_other_correct_answers_pass(ex_id, fn):
    """Checks by property accept every correct answer, not only the reference's choices."""
    for seed in SEEDS:
        assert check(ex_id, fn, rng=seed).status == PASSED


def test_wrong_messages_name_the_received_and_expected_values():
    result = check("4.3", dropout_scales_by_keep, rng=0)
    m = re.search(r"output at index \((\d+), (\d+)\) is ([-\d.e+]+), expected ([-\d.e+]+)", result.message)
    assert m, result.message
    case = get_exercise("4.3").cases(np.random.default_rng(0))[result.cases_passed]
    i, j = int(m[1]), int(m[2])
    x, mask, p = case["x"], case["mask"], case["p"]
    assert float(m[3]) == pytest.approx(x[i, j] * mask[i, j] * (1 - p), rel=1e-4)
    assert float(m[4]) == pytest.approx(x[i, j] * mask[i, j] / (1 - p), rel=1e-4)


# -- the references agree with the library ----------------------------------------------------------
def test_dropout_references_match_the_layer(rng):
    for case in get_exercise("4.3").cases(rng):
        layer = Dropout(case["p"]).train(case["training"])
        out = layer.forward(case["x"], mask=case["mask"])
        np.testing.assert_allclose(get_exercise("4.3").reference(**case), out)
        g = rng.normal(size=out.shape)
        if case["training"]:
            np.testing.assert_allclose(get_exercise("4.4").reference(g, case["mask"], case["p"]), layer.backward(g))


def test_batchnorm_reference_matches_torch(torch, rng):
    for case in get_exercise("4.5").cases(rng):
        bn = torch.nn.BatchNorm1d(case["x"].shape[1], eps=case["eps"], momentum=case["momentum"])
        with torch.no_grad():
            bn.weight[:] = torch.tensor(case["gamma"])
            bn.bias[:] = torch.tensor(case["beta"])
            bn.running_mean[:] = torch.tensor(case["running_mean"])
            bn.running_var[:] = torch.tensor(case["running_var"])
        bn.train(case["training"])
        out = bn(torch.tensor(case["x"])).detach().numpy()
        ours = get_exercise("4.5").reference(**case)
        np.testing.assert_allclose(ours[0], out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours[1], bn.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours[2], bn.running_var.numpy(), rtol=1e-12)


def test_early_stopping_reference_matches_the_early_stopping_class(rng):
    for seed in range(5):
        for case in get_exercise("4.6").cases(np.random.default_rng(seed)):
            assert get_exercise("4.6").reference(**case) == replay_early_stopping(case["val_losses"], case["patience"],
                                                                                 case["min_delta"])


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_stratified_reference_matches_sklearn_proportions():
    from sklearn.model_selection import StratifiedKFold

    for case in get_exercise("4.1").cases(np.random.default_rng(0)):
        ours = as_outputs(get_exercise("4.1").run(get_exercise("4.1").reference, case))
        ids = np.empty(len(case["y"]), dtype=int)
        for j, (_, val) in enumerate(StratifiedKFold(case["k"]).split(np.zeros(len(case["y"])), case["y"])):
            ids[val] = j
        theirs = as_outputs(get_exercise("4.1").run(lambda y, k: ids, case))
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key])


def test_batchnorm_cases_cover_both_modes_and_a_large_eps():
    cases = get_exercise("4.5").cases(np.random.default_rng(0))
    assert {c["training"] for c in cases} == {True, False}
    assert any(c["eps"] >= 0.1 for c in cases)


def test_the_early_stopping_cases_include_ties_and_min_delta():
    cases = get_exercise("4.6").cases(np.random.default_rng(0))
    assert any(c["min_delta"] > 0 for c in cases)
    assert any(len(set(c["val_losses"])) < len(c["val_losses"]) for c in cases)


def test_progress_lists_unit4():
    rows = progress(4)
    assert [r[0] for r in rows] == UNIT4_IDS
    check("4.9", get_exercise("4.9").reference)
    assert dict((i, s) for i, _, s in progress(4))["4.9"] == PASSED


def test_exercise_metadata():
    for ex_id in UNIT4_IDS:
        ex = get_exercise(ex_id)
        assert ex.unit == 4 and ex.hint and ex.title


# -- the instructor notebooks' solutions -------------------------------------------------------------
SOLUTIONS = notebook_solutions("04-regularization")


def test_every_unit4_exercise_has_one_solution_in_a_notebook():
    assert solution_ids(SOLUTIONS) == UNIT4_IDS


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS))
def test_the_notebook_solutions_pass_their_checks(notebook):
    assert_solutions_pass(notebook, SOLUTIONS[notebook], {"np": np})
