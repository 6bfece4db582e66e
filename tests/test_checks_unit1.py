"""Unit 1's self-checking exercises: references pass, stubs are "not attempted", wrong answers are
caught with a message that names the output, expected and received values and gives the hint; and
every solution written in the instructor notebooks passes its check.
"""

import math
import re

import numpy as np
import pytest

pytestmark = pytest.mark.unit1

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import (ERROR, NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise,  # noqa: E402
                             progress)
from dlcourse.checks.exercise import as_outputs, compare_outputs, evaluate  # noqa: E402
from dlcourse.graph import Value  # noqa: E402
from exercise_support import (PROBLEM, SEEDS, assert_caught, assert_solutions_pass, notebook_solutions,  # noqa: E402
                              problem_of, solution_ids)

UNIT1_IDS = [f"1.{i}" for i in range(1, 9)]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    """Each test starts with no exercise checked in this session."""
    monkeypatch.setattr(checks, "_LATEST", {})


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 1.x: replace this line with your code")


# -- plausible wrong answers ------------------------------------------------------------------------
def mul_swapped_local_grads(a, b):
    return Value(a.data * b.data, children=(a, b), op="*", local_grads=(a.data, b.data))


def mul_adds(a, b):
    return Value(a.data + b.data, children=(a, b), op="*", local_grads=(b.data, a.data))


def mul_returns_a_float(a, b):
    return a.data * b.data


def tanh_one_minus_t(a):
    t = math.tanh(a.data)
    return Value(t, children=(a,), op="tanh", local_grads=(1 - t,))


def tanh_derivative_of_the_input(a):
    return Value(math.tanh(a.data), children=(a,), op="tanh", local_grads=(1 - a.data ** 2,))


def sigmoid_naive(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_np_where(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def sigmoid_wrong_sign(x):
    return 1.0 / (1.0 + np.exp(np.clip(x, -500, 500)))


def _stable_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def sigmoid_prime_returns_s(x):
    return _stable_sigmoid(x)


def sigmoid_prime_one_minus_s(x):
    return 1.0 - _stable_sigmoid(x)


def linear_backward_transposed_grad_x(x, weight, grad_out):
    return grad_out.T @ weight, grad_out.T @ x, grad_out.sum(axis=0)


def linear_backward_grad_w_transposed(x, weight, grad_out):
    return grad_out @ weight, x.T @ grad_out, grad_out.sum(axis=0)


def linear_backward_mean_bias(x, weight, grad_out):
    return grad_out @ weight, grad_out.T @ x, grad_out.mean(axis=0)


def linear_backward_no_bias(x, weight, grad_out):
    return grad_out @ weight, grad_out.T @ x


def _softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def xent_grad_not_divided_by_n(logits, labels):
    p = _softmax(logits)
    p[np.arange(len(labels)), labels] -= 1.0
    return p


def xent_grad_no_max_subtraction(logits, labels):
    with np.errstate(all="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    return p / len(labels)


def xent_grad_without_onehot(logits, labels):
    return _softmax(logits) / len(labels)


def perceptron_always_updates(w, b, x, y, lr=1.0):
    return w + lr * y * x, b + lr * y


def perceptron_mutates_its_input(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        w += lr * y * x
        b += lr * y
    return w, b


def perceptron_strict_inequality(w, b, x, y, lr=1.0):
    if y * (w @ x + b) < 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def perceptron_wrong_sign(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        return w - lr * y * x, b - lr * y
    return w.copy(), b


def _hidden_grad(x, weight1, bias1, weight2, output):
    return weight2[output] * (weight1 @ x + bias1 > 0)


def saliency_without_the_relu(x, weight1, bias1, weight2, output):
    return weight1.T @ weight2[output]


def saliency_times_the_input(x, weight1, bias1, weight2, output):
    return x * (weight1.T @ _hidden_grad(x, weight1, bias1, weight2, output))


def saliency_mask_of_the_input(x, weight1, bias1, weight2, output):
    return weight1.T @ (weight2[output] * (x > 0))


def saliency_without_the_transpose(x, weight1, bias1, weight2, output):
    return weight1 @ _hidden_grad(x, weight1, bias1, weight2, output)


def saliency_all_classes(x, weight1, bias1, weight2, output):
    return weight1.T @ (weight2.sum(axis=0) * (weight1 @ x + bias1 > 0))


WRONG_ANSWERS = [
    # (exercise, function, status, a fragment the message must contain)
    ("1.8", saliency_without_the_relu, WRONG, "hidden units are active"),
    ("1.8", saliency_times_the_input, WRONG, "times the input x, element by element"),
    ("1.8", saliency_mask_of_the_input, ERROR, "could not be broadcast"),
    ("1.8", saliency_without_the_transpose, ERROR, "ValueError: matmul"),
    ("1.8", saliency_all_classes, WRONG, "saliency at index"),
    ("1.4", mul_swapped_local_grads, WRONG, "a.grad"),
    ("1.4", mul_adds, WRONG, "out.data"),
    ("1.4", mul_returns_a_float, WRONG, "must return a Value"),
    ("1.5", tanh_one_minus_t, WRONG, "a.grad"),
    ("1.5", tanh_derivative_of_the_input, WRONG, "a.grad"),
    ("1.2", sigmoid_naive, ERROR, "FloatingPointError: overflow"),
    ("1.2", sigmoid_np_where, ERROR, "FloatingPointError: overflow"),
    ("1.2", sigmoid_wrong_sign, WRONG, "output at index"),
    ("1.3", sigmoid_prime_returns_s, WRONG, "output at index"),
    ("1.3", sigmoid_prime_one_minus_s, WRONG, "output at index"),
    ("1.6", linear_backward_transposed_grad_x, ERROR, "ValueError: matmul"),
    ("1.6", linear_backward_grad_w_transposed, WRONG, "grad_weight has shape (3, 2), expected (2, 3)"),
    ("1.6", linear_backward_mean_bias, WRONG, "grad_bias at index"),
    ("1.6", linear_backward_no_bias, WRONG, "got a tuple of 2 values"),
    ("1.7", xent_grad_not_divided_by_n, WRONG, "output at index"),
    ("1.7", xent_grad_no_max_subtraction, WRONG, "not finite"),
    ("1.7", xent_grad_without_onehot, WRONG, "output at index"),
    ("1.1", perceptron_always_updates, WRONG, "new w at index"),
    ("1.1", perceptron_mutates_its_input, WRONG, "w (input) after the call"),
    ("1.1", perceptron_strict_inequality, WRONG, "new w at index"),
    ("1.1", perceptron_wrong_sign, WRONG, "new w at index"),
]

# -- references, stubs, other exceptions ------------------------------------------------------------


@pytest.mark.parametrize("ex_id", UNIT1_IDS)
def test_a_stub_is_not_attempted(ex_id):
    result = check(ex_id, stub)
    assert result.status == NOT_ATTEMPTED
    assert "not attempted" in result.message and "NotImplementedError" in result.message
    assert not result.passed and result.cases_passed == 0


def test_something_not_callable_is_an_error():
    result = check("1.3", 0.25)
    assert result.status == ERROR
    assert "expected a function named sigmoid_prime, got float" in result.message


# -- wrong answers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id, fn, status, fragment", WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed)


def test_softmax_grad_not_divided_by_n_is_n_times_too_big():
    result = check("1.7", xent_grad_not_divided_by_n, rng=0)
    m = PROBLEM.match(problem_of(result.message))
    n = len(get_exercise("1.7").cases(np.random.default_rng(0))[0]["labels"])
    assert float(m["rec"]) == pytest.approx(n * float(m["exp"]), rel=1e-4)


def test_sigmoid_without_the_overflow_guard_fails_on_the_extreme_case():
    result = check("1.2", sigmoid_naive, rng=0)
    assert result.cases_passed == 2  # the random cases pass; x = -1000 overflows
    assert "test case 3" in result.message


def test_the_perceptron_cases_cover_both_branches_and_the_boundary():
    for seed in range(20):
        cases = get_exercise("1.1").cases(np.random.default_rng(seed))
        margins = [c["y"] * (c["w"] @ c["x"] + c["b"]) for c in cases]
        assert min(margins) < 0 < max(margins)
        assert 0.0 in margins


def test_the_check_does_not_modify_the_inputs_it_hands_out():
    ex = get_exercise("1.1")
    case = ex.cases(np.random.default_rng(0))[0]
    w = case["w"].copy()
    ex.run(perceptron_mutates_its_input, case)
    np.testing.assert_array_equal(case["w"], w)


def test_the_saliency_reference_agrees_with_torch_autograd(torch):
    ex = get_exercise("1.8")
    for case in ex.cases(np.random.default_rng(0)):
        x = torch.tensor(case["x"], requires_grad=True)
        hidden = torch.relu(torch.tensor(case["weight1"]) @ x + torch.tensor(case["bias1"]))
        (torch.tensor(case["weight2"]) @ hidden)[case["output"]].backward()
        np.testing.assert_allclose(ex.reference(**case), x.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_the_saliency_cases_have_active_and_inactive_hidden_units():
    for seed in range(5):
        for case in get_exercise("1.8").cases(np.random.default_rng(seed)):
            active = case["weight1"] @ case["x"] + case["bias1"] > 0
            assert active.any() and not active.all()


def test_results_are_reproducible_with_a_seed():
    a = check("1.5", tanh_one_minus_t, rng=5)
    b = check("1.5", tanh_one_minus_t, rng=5)
    assert a.message == b.message


def test_evaluate_can_limit_the_cases():
    result = evaluate(get_exercise("1.2"), sigmoid_naive, rng=0, n_cases=2)
    assert result.status == PASSED and result.cases_total == 2


# -- registry and progress ---------------------------------------------------------------------------
def test_an_unknown_exercise_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown exercise '9.9'") as info:
        check("9.9", stub)
    assert "1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8" in str(info.value)
    with pytest.raises(TypeError, match="exercise_id must be a string"):
        check(1.3, stub)


def test_exercise_metadata():
    for ex_id in UNIT1_IDS:
        ex = get_exercise(ex_id)
        assert ex.id == ex_id and ex.unit == 1 and ex.hint and ex.title


def test_progress_reflects_the_statuses():
    rows = progress(1)
    assert [r[0] for r in rows] == UNIT1_IDS
    assert all(status == NOT_ATTEMPTED for _, _, status in rows)
    check("1.4", get_exercise("1.4").reference)
    check("1.5", tanh_one_minus_t)
    check("1.2", sigmoid_naive)
    check("1.3", stub)
    rows = progress(1)
    assert len(rows) == 8
    statuses = {i: s for i, _, s in rows}
    assert statuses == {"1.4": PASSED, "1.5": WRONG, "1.2": ERROR, "1.3": NOT_ATTEMPTED,
                        "1.6": NOT_ATTEMPTED, "1.7": NOT_ATTEMPTED, "1.1": NOT_ATTEMPTED, "1.8": NOT_ATTEMPTED}
    text = str(rows)
    assert "1 of 8 passed" in text and len(text.splitlines()) == 10
    assert "the product node of the engine" in text
    html = rows._repr_html_()
    assert html.count("<tr>") == 9 and "✅ passed" in html and "❌ wrong" in html and "💥 error" in html
    # a later check replaces the earlier result
    check("1.5", get_exercise("1.5").reference)
    assert dict((i, s) for i, _, s in progress(1))["1.5"] == PASSED
    assert all(row in progress() for row in progress(1))


def test_result_html_is_escaped():
    result = check("1.6", linear_backward_grad_w_transposed, rng=0)
    html = result._repr_html_()
    assert "❌ Exercise 1.6" in html and "<br>Open hint 2 above the exercise" in html
    result.message = "x < 0 & y\nsecond line"
    html = result._repr_html_()
    assert "x &lt; 0 &amp; y<br>second line" in html


# -- compare_outputs ---------------------------------------------------------------------------------
def test_compare_outputs():
    exp = {"y": np.array([1.0, 2.0, 3.0])}
    assert compare_outputs(exp, {"y": np.array([1.0, 2.0, 3.0 + 1e-9])}, 1e-6, 1e-8) is None
    assert compare_outputs(exp, {"y": np.ones((3, 1))}, 1e-6, 1e-8).startswith("y has shape (3, 1), expected (3,) (")
    assert compare_outputs(exp, {"y": np.array([1.0, np.nan, 3.0])}, 1e-6, 1e-8) == \
        "y at index (1,) is nan (not finite), expected 2"
    assert compare_outputs(exp, {"y": np.array([1.0, 2.0, np.inf])}, 1e-6, 1e-8) == \
        "y at index (2,) is inf (not finite), expected 3"
    assert compare_outputs(exp, {"y": np.array([1.0, 2.5, 3.0])}, 1e-6, 1e-8) == \
        "y at index (1,) is 2.5, expected 2 (the only wrong value of 3)"
    assert compare_outputs(exp, {"z": np.ones(3)}, 1e-6, 1e-8) == "y is missing: expected 1 output(s), got 1"
    assert compare_outputs({"s": np.array(2.0)}, {"s": np.array(3.0)}, 1e-6, 1e-8) == "s is 3, expected 2"


PATTERNS = [
    # (expected, received, what the message must name)
    (np.array([1.0, -2.0, 3.0]), np.array([4.0, -8.0, 12.0]), "every value is 4 times the expected one"),
    (np.array([1.0, -2.0, 3.0]), np.array([-1.0, 2.0, -3.0]), "every value has the wrong sign"),
    (np.array([1.0, -2.0, 3.0]), np.array([1.5, -1.5, 3.5]), "off by the same amount, +0.5"),
    (np.array([1.0, -2.0, 3.0, -4.0]), np.array([1.0, 2.0, 3.0, 4.0]), "wrong where the expected value is negative"),
    (np.array([1.0, -2.0, 3.0, -4.0]), np.array([-1.0, -2.0, -3.0, -4.0]), "where the expected value is positive"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "the transpose of the expected one"),
    (np.array([0.3, -0.7, 1.1]), np.array([-0.0, 0.0, -0.0]), "every value is 0, though the expected ones are not"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 4.0], [9.0, 12.0]]), "each row is off by its own factor"),
]


@pytest.mark.parametrize("exp, rec, named", PATTERNS, ids=[p[2][:30] for p in PATTERNS])
def test_compare_outputs_names_the_pattern_of_an_error(exp, rec, named):
    message = compare_outputs({"y": exp}, {"y": rec}, 1e-6, 1e-8)
    assert named in message, message
    assert "-0 times" not in message and " 0 times" not in message


@pytest.mark.parametrize("rec, exp, named", [((3, 2), (2, 3), "the axes are swapped"),
                                             ((3, 1), (3,), "axis of length 1 added or dropped"),
                                             ((), (3,), "one number where an array is expected"),
                                             ((3,), (), "an array where one number is expected"),
                                             ((4, 3), (5, 3), "axis 0 has length 4, expected 5"),
                                             ((2, 3, 4), (4, 2, 3), "the axes are permuted")])
def test_compare_outputs_names_what_a_wrong_shape_suggests(rec, exp, named):
    message = compare_outputs({"y": np.ones(exp)}, {"y": np.ones(rec)}, 1e-6, 1e-8)
    assert named in message, message


def test_an_output_that_repeats_an_input_is_named():
    w = np.array([0.5, -1.0])
    message = compare_outputs({"new w": w + 1}, {"new w": w.copy()}, 1e-6, 1e-8, inputs={"w": w, "b": 0.0})
    assert "it is the input w, unchanged" in message


def test_the_boundary_slip_of_the_perceptron_is_explained_without_a_negative_zero_ratio():
    """`<` instead of `<=` skips the update on the boundary, where w = 0: the message says so (it used to print
    "every value is -0 times the expected one")."""
    result = check("1.1", perceptron_strict_inequality, rng=0)
    assert result.status == WRONG
    assert "times the expected" not in result.message and not re.search(r"-0(?![.\d])", result.message)
    assert "it is the input w, unchanged" in result.message
    assert "exactly on the boundary" in result.message


def test_as_outputs():
    assert list(as_outputs((1.0, [2.0]))) == ["output 0", "output 1"]
    assert list(as_outputs({"a": 1})) == ["a"]
    out = as_outputs(np.arange(3))
    assert list(out) == ["output"] and out["output"].dtype == np.float64


# -- the instructor notebooks' solutions -------------------------------------------------------------
SOLUTIONS = notebook_solutions("01-backprop")


def test_every_unit1_exercise_has_one_solution_in_a_notebook():
    assert solution_ids(SOLUTIONS) == UNIT1_IDS


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS))
def test_the_notebook_solutions_pass_their_checks(notebook):
    assert_solutions_pass(notebook, SOLUTIONS[notebook], {"np": np, "math": math, "Value": Value})
