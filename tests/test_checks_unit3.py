"""Unit 3's self-checking exercises: references pass, stubs are "not attempted", plausible wrong answers
(including the lecture notes' slips) are caught with a message that names the output, the expected and the
received values and gives the hint; and every solution in the Unit 3 notebooks passes its check.
"""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.unit3

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import ERROR, NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise, progress  # noqa: E402
from dlcourse.checks.exercise import describe_case  # noqa: E402
from dlcourse.checks.unit3 import Listed, QuadraticGradient  # noqa: E402
from dlcourse.optim import Adam, Optimizer  # noqa: E402
from exercise_support import SEEDS, assert_caught, assert_solutions_pass, notebook_solutions, solution_ids  # noqa: E402

UNIT3_IDS = [f"3.{i}" for i in range(1, 10)]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 3.x: replace this line with your code")


class StubAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def update(self, param, grad, state):
        raise NotImplementedError("Exercise 3.6: replace this line with your code")


# -- plausible wrong answers ------------------------------------------------------------------------
def max_lr_one_over_l(H):
    return 1.0 / np.linalg.eigvalsh(H).max()


def max_lr_smallest_eigenvalue(H):
    return 2.0 / np.linalg.eigvalsh(H).min()


def max_lr_diagonal(H):
    return 2.0 / np.max(np.diag(H))


def max_lr_trace(H):
    return 2.0 / np.trace(H)


def momentum_notes_convention(w, v, grad, lr, momentum):
    v = momentum * v + lr * grad  # the notes' v = γv + η∇: right path, but v is lr times torch's buffer
    return w - v, v


def momentum_ema(w, v, grad, lr, momentum):
    v = momentum * v + (1 - momentum) * grad
    return w - lr * v, v


def momentum_old_buffer(w, v, grad, lr, momentum):
    return w - lr * v, momentum * v + grad


def nesterov_at_theta(theta, v, grad_fn, lr, momentum):
    v = momentum * v + lr * grad_fn(theta)  # plain momentum: no look-ahead
    return theta - v, v


def nesterov_wrong_direction(theta, v, grad_fn, lr, momentum):
    v = momentum * v + lr * grad_fn(theta + momentum * v)
    return theta - v, v


def rmsprop_eps_inside(w, square_avg, grad, lr, alpha, eps):
    s = alpha * square_avg + (1 - alpha) * grad ** 2  # the notes' sqrt(v + eps)
    return w - lr * grad / np.sqrt(s + eps), s


def rmsprop_swapped_alpha(w, square_avg, grad, lr, alpha, eps):
    s = (1 - alpha) * square_avg + alpha * grad ** 2
    return w - lr * grad / (np.sqrt(s) + eps), s


def rmsprop_adagrad_sum(w, square_avg, grad, lr, alpha, eps):
    s = square_avg + grad ** 2
    return w - lr * grad / (np.sqrt(s) + eps), s


class _AdamBase(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def moments(self, grad, state):
        b1, b2 = self.betas
        state["t"] = state.get("t", 0) + 1
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad * grad
        return state["t"], state["m"], state["v"], b1, b2


class AdamNoBiasCorrection(_AdamBase):
    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, state)
        param -= self.lr * m / (np.sqrt(v) + self.eps)


class AdamOneBeta(_AdamBase):
    """The notes' slip: both moments corrected with the same β."""

    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, state)
        param -= self.lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b1 ** t)) + self.eps)


class AdamUncorrectedDenominator(_AdamBase):
    """The notes' other slip: m̂ over sqrt(v) instead of sqrt(v̂)."""

    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, state)
        param -= self.lr * (m / (1 - b1 ** t)) / (np.sqrt(v) + self.eps)


class AdamEpsInside(_AdamBase):
    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, state)
        param -= self.lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + self.eps)


class AdamSharedState(_AdamBase):
    """One m and v for all parameters: fails as soon as there are two of different shapes."""

    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, self.state[0])
        param -= self.lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + self.eps)


class AdamReturnsInsteadOfInPlace(_AdamBase):
    def update(self, param, grad, state):
        t, m, v, b1, b2 = self.moments(grad, state)
        param = param - self.lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + self.eps)  # noqa: F841


def newton_gradient_step(x, grad, hess):
    return x - grad


def newton_times_hessian(x, grad, hess):
    return x - hess @ grad


def newton_diagonal(x, grad, hess):
    return x - grad / np.diag(hess)


def newton_plus(x, grad, hess):
    return x + np.linalg.solve(hess, grad)


def decay_power(lr0, decay_rate, epoch):
    return lr0 / (1 + decay_rate) ** np.asarray(epoch)


def decay_exponential(lr0, decay_rate, epoch):
    return lr0 * np.exp(-decay_rate * np.asarray(epoch))


def decay_off_by_one(lr0, decay_rate, epoch):
    return lr0 / (1 + decay_rate * (np.asarray(epoch) + 1))


def decay_python_only(lr0, decay_rate, epoch):
    return lr0 / (1 + decay_rate * epoch) if np.ndim(epoch) == 0 else [lr0 / (1 + decay_rate * e) for e in epoch[:1]]


def clip_each_array(grads, max_norm):
    out = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
    return out, float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def clip_always_rescales(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    return [g * max_norm / (total + 1e-6) for g in grads], total


def clip_by_value_instead(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    return [np.clip(g, -max_norm, max_norm) for g in grads], total


def clip_sum_of_norms(grads, max_norm):
    total = float(sum(np.linalg.norm(g) for g in grads))
    return [g * min(1.0, max_norm / (total + 1e-6)) for g in grads], total


def clip_returns_a_list(grads, max_norm):
    return [g for g in grads]


def ema_no_correction(values, beta):
    out, avg = [], 0.0
    for x in values:
        avg = beta * avg + (1 - beta) * x
        out.append(avg)
    return np.array(out)


def ema_swapped(values, beta):
    out, avg = [], 0.0
    for t, x in enumerate(values, start=1):
        avg = (1 - beta) * avg + beta * x
        out.append(avg / (1 - beta ** t))
    return np.array(out)


def ema_off_by_one(values, beta):
    out, avg = [], 0.0
    for t, x in enumerate(values):
        avg = beta * avg + (1 - beta) * x
        out.append(avg / (1 - beta ** (t + 2)))
    return np.array(out)


WRONG_ANSWERS = [
    # (exercise, function, status, a fragment the message must contain)
    ("3.1", max_lr_one_over_l, WRONG, "output is"),
    ("3.1", max_lr_smallest_eigenvalue, WRONG, "output is"),
    ("3.1", max_lr_diagonal, WRONG, "output is"),
    ("3.1", max_lr_trace, WRONG, "output is"),
    ("3.2", momentum_notes_convention, WRONG, "v_new at index"),
    ("3.2", momentum_ema, WRONG, "w_new at index"),
    ("3.2", momentum_old_buffer, WRONG, "w_new at index"),
    ("3.3", nesterov_at_theta, WRONG, "theta_new at index"),
    ("3.3", nesterov_wrong_direction, WRONG, "theta_new at index"),
    ("3.4", rmsprop_eps_inside, WRONG, "w_new at index"),
    ("3.4", rmsprop_swapped_alpha, WRONG, "w_new at index"),
    ("3.4", rmsprop_adagrad_sum, WRONG, "w_new at index"),
    ("3.6", AdamNoBiasCorrection, WRONG, "params[0] after step 1"),
    ("3.6", AdamOneBeta, WRONG, "params[0] after step 1"),
    ("3.6", AdamUncorrectedDenominator, WRONG, "params[0] after step 1"),
    ("3.6", AdamEpsInside, WRONG, "after step 1"),
    ("3.6", AdamSharedState, ERROR, "ValueError"),
    ("3.6", AdamReturnsInsteadOfInPlace, WRONG, "params[0] after step 1"),
    ("3.5", newton_gradient_step, WRONG, "output at index"),
    ("3.5", newton_times_hessian, WRONG, "output at index"),
    ("3.5", newton_diagonal, WRONG, "output at index"),
    ("3.5", newton_plus, WRONG, "output at index"),
    ("3.7", decay_power, WRONG, "output at index"),
    ("3.7", decay_exponential, WRONG, "output at index"),
    ("3.7", decay_off_by_one, WRONG, "output at index (0,)"),
    ("3.7", decay_python_only, WRONG, "output has shape (1,), expected (5,)"),
    ("3.8", clip_each_array, WRONG, "clipped grads[0] at index"),
    ("3.8", clip_always_rescales, WRONG, "clipped grads[0] at index"),
    ("3.8", clip_by_value_instead, WRONG, "clipped grads[0] at index"),
    ("3.8", clip_sum_of_norms, WRONG, "clipped grads[0] at index"),
    ("3.8", clip_returns_a_list, WRONG, "must return a pair (clipped_grads, total_norm)"),
    ("3.9", ema_no_correction, WRONG, "output at index (0,)"),
    ("3.9", ema_swapped, WRONG, "output at index"),
    ("3.9", ema_off_by_one, WRONG, "output at index (0,)"),
]

# -- references, stubs, other exceptions ------------------------------------------------------------


@pytest.mark.parametrize("ex_id", UNIT3_IDS)
def test_a_stub_is_not_attempted(ex_id):
    result = check(ex_id, StubAdam if ex_id == "3.6" else stub)
    assert result.status == NOT_ATTEMPTED, result.message
    assert "not attempted" in result.message


@pytest.mark.parametrize("ex_id, fn, status, fragment", WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed)


def test_a_my_adam_with_the_older_update_signature_still_passes_with_a_warning():
    """Last term's ``update(self, i, param, grad, state)`` passes until the end of this one, with a warning
    saying what to change. Fails if the older signature is refused, or called the new way (``i`` gets ``param``)."""
    with pytest.warns(DeprecationWarning, match=r"write update\(self, param, grad, state\)"):
        class OldMyAdam(Optimizer):
            def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

            def update(self, i, param, grad, state):
                assert isinstance(i, int)
                if not state:
                    state.update(step=0, m=np.zeros_like(param), v=np.zeros_like(param))
                b1, b2 = self.betas
                state["step"] += 1
                t = state["step"]
                state["m"] = b1 * state["m"] + (1 - b1) * grad
                state["v"] = b2 * state["v"] + (1 - b2) * grad * grad
                param -= self.lr * (state["m"] / (1 - b1 ** t)) / (np.sqrt(state["v"] / (1 - b2 ** t)) + self.eps)

    result = check("3.6", OldMyAdam, rng=0)
    assert result.status == PASSED, result.message


def test_the_adam_check_names_the_first_wrong_step():
    """Shared state is right while there is one parameter, wrong from the first step with two."""
    result = check("3.6", AdamSharedState, rng=0)
    assert "test case 2" in result.message  # the first case has one parameter, and passes


@pytest.mark.parametrize("seed", SEEDS)
def test_the_eps_placement_is_caught_at_the_latest_where_eps_is_large(seed):
    """sqrt(v + eps) differs from sqrt(v) + eps where v is small, and always on the case with eps = 0.1."""
    for ex_id, wrong in (("3.4", rmsprop_eps_inside), ("3.6", AdamEpsInside)):
        r = check(ex_id, wrong, rng=seed)
        assert r.status == WRONG and r.cases_passed <= 2


def test_the_notes_momentum_buffer_is_reported_as_a_factor_lr():
    result = check("3.2", momentum_notes_convention, rng=0)
    lr = get_exercise("3.2").cases(np.random.default_rng(0))[result.cases_passed]["lr"]
    assert f"(every value is {lr:.4g} times the expected one" in result.message


def test_the_momentum_conventions_differ_only_in_the_buffer():
    """The notes' convention takes the same step (output 0 matches) but stores lr times torch's buffer."""
    ex = get_exercise("3.2")
    for case in ex.cases(np.random.default_rng(0)):
        w_notes, v_notes = momentum_notes_convention(case["w"], case["v"] * case["lr"], case["grad"], case["lr"],
                                                     case["momentum"])
        w_torch, v_torch = ex.reference(**case)
        np.testing.assert_allclose(w_notes, w_torch)
        np.testing.assert_allclose(v_notes, case["lr"] * v_torch)


def test_case_descriptions_are_readable():
    ex = get_exercise("3.8")
    case = ex.cases(np.random.default_rng(0))[0]
    assert "grads=2 arrays of shapes (3,), (2, 2)" in describe_case(case)
    assert "shapes=(2, 3), (3,)" in describe_case(get_exercise("3.6").cases(np.random.default_rng(0))[1])
    assert "quadratic" in repr(QuadraticGradient(np.eye(2), np.zeros(2)))
    assert list(Listed([(1,)], "shapes")) == [(1,)]
    r = check("3.8", clip_each_array, rng=0)
    assert "grads=2 arrays of shapes (3,), (2, 2)" in r.message


def test_the_inverse_time_decay_check_includes_the_notes_table():
    case = get_exercise("3.7").cases(np.random.default_rng(0))[0]
    np.testing.assert_allclose(get_exercise("3.7").reference(**case), [0.2, 0.1, 0.2 / 3, 0.05, 0.04])


def test_the_adam_reference_is_dlcourse_adam():
    assert get_exercise("3.6").reference is Adam


def test_progress_lists_unit3():
    rows = progress(3)
    assert [r[0] for r in rows] == UNIT3_IDS
    check("3.1", get_exercise("3.1").reference)
    check("3.2", momentum_ema)
    statuses = {i: s for i, _, s in progress(3)}
    assert statuses["3.1"] == PASSED and statuses["3.2"] == WRONG and statuses["3.3"] == NOT_ATTEMPTED


# -- the instructor notebooks' solutions -------------------------------------------------------------
SOLUTIONS = notebook_solutions("03-optimization")


def test_every_unit3_exercise_has_one_solution_in_a_notebook():
    assert solution_ids(SOLUTIONS) == UNIT3_IDS


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS))
def test_the_notebook_solutions_pass_their_checks(notebook):
    assert_solutions_pass(notebook, SOLUTIONS[notebook], {"math": math}, shared=False)
