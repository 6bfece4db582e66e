"""Optimizers (Unit 3): torch parity over whole trajectories, convergence, validation, the race."""

from __future__ import annotations

import json
import warnings
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlcourse.landscapes import IllConditionedBowl, ill_conditioned_bowl, noisy, rosenbrock
from dlcourse.explore.race import race
from dlcourse.optim import OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer, RMSprop

pytestmark = pytest.mark.unit3

STEPS = 300
RTOL, ATOL = 1e-10, 1e-12  # float64; FMA rounding in torch's kernels differs by an ulp per step


# --------------------------------------------------------------------------- problems
class Problem(NamedTuple):
    """Parameters to start from and a gradient function of the list of parameters.

    ``sgd_lr_scale`` multiplies SGD's learning rate (which must match the problem's
    curvature), ``adaptive_lr_scale`` the others' (step sizes in parameter units). They
    keep every run in a regime where round-off does not grow exponentially (an adaptive
    method hopping around a minimum is chaotic: an ulp of difference, e.g. from a fused
    multiply-add in torch's vectorised kernels, then grows to O(1) in a hundred steps).
    """
    name: str
    init: Callable[[], list]
    grad: Callable[[list], list]
    loss: Callable[[list], float]
    sgd_lr_scale: float
    adaptive_lr_scale: float


def _least_squares() -> Problem:
    rng = np.random.default_rng(42)
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    W0, b0 = 0.5 * rng.normal(size=(3, 4)), 0.5 * rng.normal(size=3)

    def residual(p):
        W, b = p
        return X @ W.T + b - Y

    def grad(p):
        R = residual(p) / len(X)
        return [R.T @ X, R.sum(axis=0)]

    return Problem("least_squares", lambda: [W0.copy(), b0.copy()], grad,
                   lambda p: 0.5 * float(np.mean(np.sum(residual(p) ** 2, axis=1))), 500.0, 0.1)


_bowl = IllConditionedBowl(condition_number=50.0, angle=0.3)
PROBLEMS = [
    Problem("rosenbrock", lambda: [rosenbrock.start.copy()], lambda p: [rosenbrock.grad(p[0])],
            lambda p: rosenbrock.value(p[0]), 1.0, 1.0),
    Problem("bowl", lambda: [_bowl.start.copy()], lambda p: [_bowl.grad(p[0])],
            lambda p: _bowl.value(p[0]), 20.0, 1.0),
    _least_squares(),
]

# --------------------------------------------------------------------------- configurations
CONFIGS = [  # (test id, optimizer, hyperparameters)
    ("sgd", "SGD", dict(lr=1e-3)),
    ("sgd_high_lr", "SGD", dict(lr=1.3e-3)),
    ("sgd_momentum", "SGD", dict(lr=1e-3, momentum=0.9)),
    ("sgd_momentum_dampening", "SGD", dict(lr=1e-3, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", "SGD", dict(lr=1e-3, momentum=0.9, nesterov=True)),
    ("sgd_momentum_wd", "SGD", dict(lr=1e-3, momentum=0.9, weight_decay=0.1)),
    ("sgd_nesterov_wd", "SGD", dict(lr=5e-4, momentum=0.95, nesterov=True, weight_decay=0.05)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    ("adagrad_high_lr", "Adagrad", dict(lr=1.0)),
    ("adagrad_lr_decay_init_acc", "Adagrad", dict(lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("adagrad_wd_eps", "Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_high_lr", "RMSprop", dict(lr=0.03)),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True)),
    ("rmsprop_momentum", "RMSprop", dict(lr=1e-3, momentum=0.9)),
    ("rmsprop_momentum_centered_wd", "RMSprop", dict(lr=1e-3, momentum=0.9, centered=True, weight_decay=0.01)),
    ("rmsprop_alpha_eps", "RMSprop", dict(lr=1e-3, alpha=0.95, eps=1e-4)),
    ("adadelta", "Adadelta", dict(lr=0.5)),
    ("adadelta_rho_eps_wd", "Adadelta", dict(lr=0.1, rho=0.95, eps=1e-4, weight_decay=0.01)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam_high_lr", "Adam", dict(lr=0.1)),
    ("adam_amsgrad", "Adam", dict(lr=0.05, amsgrad=True)),
    ("adam_wd", "Adam", dict(lr=0.01, weight_decay=0.1)),
    ("adam_betas_eps", "Adam", dict(lr=1e-3, betas=(0.8, 0.95), eps=1e-6)),
    ("adamw", "AdamW", dict(lr=0.01)),
    ("adamw_amsgrad_wd", "AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
]

MATRIX = [pytest.param(cfg, prob, id=f"{cfg[0]}-{prob.name}") for cfg in CONFIGS for prob in PROBLEMS]


def _kwargs(name: str, kwargs: dict, problem: Problem) -> dict:
    kwargs = dict(kwargs)
    default_lr = OPTIMIZERS[name]([np.zeros(1)]).lr
    scale = problem.sgd_lr_scale if name == "SGD" else problem.adaptive_lr_scale
    kwargs["lr"] = kwargs.get("lr", default_lr) * scale
    return kwargs


def _run_both(torch, name, kwargs, problem, steps=STEPS):
    """Our optimizer and torch's, each fed the gradient at its own iterate; both trajectories."""
    ours = problem.init()
    theirs = [torch.tensor(p, requires_grad=True) for p in problem.init()]
    opt = OPTIMIZERS[name](ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    traj, ttraj = [], []
    for _ in range(steps):
        opt.step(problem.grad(ours))
        tgrads = problem.grad([t.detach().numpy().copy() for t in theirs])
        for t, g in zip(theirs, tgrads):
            t.grad = torch.from_numpy(g)
        topt.step()
        traj.append(np.concatenate([p.ravel() for p in ours]))
        ttraj.append(np.concatenate([t.detach().numpy().ravel() for t in theirs]))
    return opt, topt, theirs, np.array(traj), np.array(ttraj)


@pytest.mark.parametrize("cfg, problem", MATRIX)
def test_trajectory_matches_torch(torch, cfg, problem):
    _, name, kwargs = cfg
    opt, topt, theirs, traj, ttraj = _run_both(torch, name, _kwargs(name, kwargs, problem), problem)
    assert np.all(np.isfinite(traj)), "the configuration diverged; the test needs a stable one"
    np.testing.assert_allclose(traj, ttraj, rtol=RTOL, atol=ATOL)
    for i, t in enumerate(theirs):  # the state, under torch's keys
        tstate = topt.state[t]
        assert set(opt.state[i]) == set(tstate)
        for key, value in opt.state[i].items():
            np.testing.assert_allclose(value, tstate[key].detach().numpy(), rtol=1e-8, atol=1e-12,
                                       err_msg=f"state[{i}][{key!r}]")


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c[0]) for c in CONFIGS])
def test_state_keys_after_one_step_are_torchs(torch, cfg):
    _, name, kwargs = cfg
    opt, topt, theirs, _, _ = _run_both(torch, name, _kwargs(name, kwargs, PROBLEMS[2]), PROBLEMS[2], steps=1)
    assert [set(s) for s in opt.state] == [set(topt.state[t]) for t in theirs]


# --------------------------------------------------------------------------- convergence
QUADRATIC_CASES = [  # (optimizer, hyperparameters, condition number, steps): each reaches f < 1e-6
    (SGD, dict(lr=0.03), 20.0, 800),
    (SGD, dict(lr=0.01, momentum=0.9), 20.0, 400),
    (SGD, dict(lr=0.01, momentum=0.9, nesterov=True), 20.0, 300),
    (Adagrad, dict(lr=1.0), 20.0, 600),
    (RMSprop, dict(lr=0.02), 20.0, 1000),
    (RMSprop, dict(lr=0.01, momentum=0.9), 20.0, 400),
    (Adadelta, dict(eps=1e-3), 1.0, 200),
    (Adadelta, dict(), 1.0, 1200),
    (Adam, dict(lr=0.1), 20.0, 800),
    (AdamW, dict(lr=0.1, weight_decay=0.0), 20.0, 800),
]


@pytest.mark.parametrize("cls, kwargs, kappa, steps", QUADRATIC_CASES,
                         ids=[f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
                              for c, kw, _, _ in QUADRATIC_CASES])
def test_reaches_small_loss_on_a_quadratic(cls, kwargs, kappa, steps):
    bowl = IllConditionedBowl(condition_number=kappa, angle=0.4)
    x = bowl.start.copy()
    opt = cls([x], **kwargs)
    for _ in range(steps):
        opt.step([bowl.grad(x)])
    assert bowl.value(x) < 1e-6


def test_adamw_decays_weights_with_zero_gradient():
    w = np.array([1.0, -2.0])
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(10):
        opt.step([np.zeros(2)])
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) * 0.95 ** 10, rtol=1e-12)


# --------------------------------------------------------------------------- conventions
def test_momentum_conventions_give_the_same_trajectory():
    """The Notes of SGD: torch's buffer, the lecture notes' (lr inside) and the EMA forms."""
    gamma, eta, beta, alpha = 0.9, 1e-3, 0.9, 5e-3
    g = rosenbrock.grad
    w_torch, w_notes, w_ema0, w_ema0_ref, w_damp, w_emag_ref = (rosenbrock.start.copy() for _ in range(6))
    opt = SGD([w_torch], lr=eta, momentum=gamma)
    opt_ema0 = SGD([w_ema0], lr=(1 - beta) * alpha, momentum=beta)
    opt_damp = SGD([w_damp], lr=alpha, momentum=beta, dampening=beta)
    v, m0, mg = np.zeros(2), np.zeros(2), None
    for _ in range(200):
        opt.step([g(w_torch)])
        opt_ema0.step([g(w_ema0)])
        opt_damp.step([g(w_damp)])
        v = gamma * v + eta * g(w_notes)  # the lecture notes: lr inside the buffer
        w_notes = w_notes - v
        m0 = beta * m0 + (1 - beta) * g(w_ema0_ref)  # EMA started at 0
        w_ema0_ref = w_ema0_ref - alpha * m0
        gk = g(w_emag_ref)  # EMA started at the first gradient
        mg = gk if mg is None else beta * mg + (1 - beta) * gk
        w_emag_ref = w_emag_ref - alpha * mg
    assert all(np.all(np.isfinite(w)) for w in [w_torch, w_ema0, w_damp])
    np.testing.assert_allclose(w_torch, w_notes, rtol=1e-9)
    np.testing.assert_allclose(w_ema0, w_ema0_ref, rtol=1e-9)
    np.testing.assert_allclose(w_damp, w_emag_ref, rtol=1e-9)


def test_lr_is_an_attribute_a_schedule_can_set(torch):
    ours = [np.array([3.0, -1.0])]
    t = torch.tensor([3.0, -1.0], requires_grad=True)
    opt, topt = SGD(ours, lr=0.1, momentum=0.5), torch.optim.SGD([t], lr=0.1, momentum=0.5)
    for k in range(20):
        opt.lr = topt.param_groups[0]["lr"] = 0.1 / (1 + k)
        opt.step([2 * ours[0]])
        t.grad = 2 * t.detach().clone()
        topt.step()
    np.testing.assert_allclose(ours[0], t.detach().numpy(), rtol=1e-12)
    assert opt.hyperparameters["lr"] == pytest.approx(0.1 / 20)


def test_subclass_for_the_race():
    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def update(self, param, grad, state):
            state["step"] = state.get("step", 0) + 1
            param -= self.lr * np.sign(grad)

    w = np.array([1.0, -1.0])
    opt = SignSGD([w], lr=0.25)
    opt.step([np.array([3.0, -0.1])])
    np.testing.assert_array_equal(w, [0.75, -0.75])
    assert opt.state[0]["step"] == 1 and repr(opt) == "SignSGD(lr=0.25)"
    with pytest.raises(NotImplementedError, match="must implement update"):
        Optimizer([np.zeros(2)], {}).step([np.zeros(2)])


def test_race_rebinds_a_template_with_its_hyperparameters_not_its_state():
    """Fails if the race's copy of a template optimizer shares (or loses) state or hyperparameters."""
    from dlcourse.explore.race import _make_optimizer

    opt = Adagrad([np.ones(2)], lr=0.3, initial_accumulator_value=0.5)
    opt.step([np.ones(2)])
    new = _make_optimizer("Adagrad", opt, np.zeros(3))
    assert type(new) is Adagrad and new.lr == 0.3 and new.state[0]["step"] == 0
    np.testing.assert_array_equal(new.state[0]["sum"], np.full(3, 0.5))
    assert opt.state[0]["step"] == 1 and opt.params[0].shape == (2,)


def test_race_refuses_a_template_with_several_groups():
    """Fails if a two-group template is silently cut to its first group (the old ``Optimizer.rebind``)."""
    opt = SGD([{"params": [np.ones(2)]}, {"params": [np.ones(1)], "lr": 0.0}], lr=0.1)
    with pytest.raises(ValueError, match=r"optimizers\['two'\] is an optimizer with 2 parameter groups"):
        race(rosenbrock, {"two": opt}, np.array([-1.0, 1.0]), steps=3)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 5), elements=st.floats(-1e3, 1e3)),
       st.sampled_from(sorted(OPTIMIZERS)))
def test_zero_gradient_does_not_move_parameters(x, name):
    """Without weight decay, a zero gradient leaves every optimizer where it is."""
    p = x.copy()
    opt = OPTIMIZERS[name]([p], **({"weight_decay": 0.0} if name == "AdamW" else {}))
    for _ in range(3):
        opt.step([np.zeros_like(p)])
    np.testing.assert_array_equal(p, x)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, 3, elements=st.floats(-1e6, 1e6)), st.sampled_from(sorted(OPTIMIZERS)))
def test_steps_stay_finite_for_large_gradients(g, name):
    p = np.zeros(3)
    opt = OPTIMIZERS[name]([p], lr=1e-3)
    for _ in range(3):
        opt.step([g])
    assert np.all(np.isfinite(p))


# --------------------------------------------------------------------------- validation
ERROR_CASES = [  # (optimizer, hyperparameters, message): torch raises the same ValueError
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(lr=0.1, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    ("SGD", dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    ("Adagrad", dict(lr=-0.01), "Invalid learning rate: -0.01"),
    ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
    ("Adagrad", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), "Invalid initial_accumulator_value value: -0.1"),
    ("Adagrad", dict(eps=-1e-10), "Invalid epsilon value: -1e-10"),
    ("RMSprop", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("RMSprop", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("RMSprop", dict(alpha=-0.99), "Invalid alpha value: -0.99"),
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
    ("Adadelta", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adam", dict(lr=-1e-3), "Invalid learning rate: -0.001"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("AdamW", dict(betas=(-0.5, 0.999)), "Invalid beta parameter at index 0: -0.5"),
    ("AdamW", dict(weight_decay=-1e-2), "Invalid weight_decay value: -0.01"),
]


def _error_id(name: str, kwargs: dict, message: str) -> str:
    if "Nesterov" in message:
        return f"{name}-nesterov_with_{'dampening' if kwargs.get('dampening') else 'no_momentum'}"
    bad = message.split(":")[0].replace("Invalid ", "").replace(" value", "").replace(" parameter at index ", "")
    return f"{name}-{bad.replace(' ', '_')}"


@pytest.mark.parametrize("name, kwargs, message", ERROR_CASES, ids=[_error_id(*c) for c in ERROR_CASES])
def test_invalid_hyperparameters_raise_torchs_message(torch, name, kwargs, message):
    with pytest.raises(ValueError) as ours:
        OPTIMIZERS[name]([np.zeros(2)], **kwargs)
    assert str(ours.value) == message
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


BAD_INPUTS = [  # (what is called, exception, part of the message)
    (lambda: SGD(np.zeros(2), lr=0.1), TypeError, "wrap a single array in a list"),
    (lambda: SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda: SGD([[1.0, 2.0]], lr=0.1), TypeError, r"params\[0\] must be a numpy array"),
    (lambda: SGD([np.arange(3)], lr=0.1), TypeError, r"params\[0\] must have a floating dtype.*int64"),
    (lambda: SGD([np.zeros(2)] * 2, lr=0.1), ValueError, "the same array twice"),
    (lambda: SGD([np.zeros(2)], lr="0.1"), TypeError, "lr must be a real number, got str"),
    (lambda: Adam([np.zeros(2)], betas=0.9), TypeError, r"betas must be a tuple of 2 numbers"),
    (lambda: Adam([np.zeros(2)], betas=(0.9, None)), TypeError, r"betas\[1\] must be a real number"),
    (lambda: SGD([np.zeros(2)], lr=0.1).step(np.zeros(2)), TypeError, "grads must be a list"),
    (lambda: SGD([np.zeros(2)], lr=0.1).step([np.zeros(2), np.zeros(2)]), ValueError,
     r"step expects 1 gradient\(s\), one per parameter, got 2"),
    (lambda: SGD([np.zeros(2)], lr=0.1).step([np.zeros(3)]), ValueError,
     r"grads\[0\] must have the shape of params\[0\], \(2,\), got \(3,\)"),
]


@pytest.mark.parametrize("call, exc, match", BAD_INPUTS, ids=[
    "single_array", "empty_list", "list_not_array", "int_dtype", "same_array_twice", "string_lr",
    "betas_not_pair", "beta_none", "grads_not_list", "too_many_grads", "grad_shape"])
def test_bad_inputs_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_defaults_are_torchs(torch):
    for name, cls in OPTIMIZERS.items():
        t = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
        ours = cls([np.zeros(1)]).defaults
        for key, value in ours.items():
            assert t[key] == (tuple(value) if key == "betas" else value), (name, key)


# --------------------------------------------------------------------------- the race
RACERS = {
    "SGD": lambda p: SGD(p, lr=1e-3),
    "momentum": lambda p: SGD(p, lr=1e-3, momentum=0.9),
    "Adagrad": lambda p: Adagrad(p, lr=0.5),
    "RMSprop": RMSprop,
    "Adam": lambda p: Adam(p, lr=0.05),
    "AdamW": AdamW([np.zeros(2)], lr=0.05),  # an instance is a template
}


def test_race_shapes_and_leaderboard():
    res = race(rosenbrock, RACERS, steps=500)
    assert set(res.trajectories) == set(RACERS) == {r.name for r in res.leaderboard}
    for name in RACERS:
        assert res.trajectories[name].shape == (501, 2) and res.losses[name].shape == (501,)
        np.testing.assert_array_equal(res.trajectories[name][0], rosenbrock.start)
    assert [r.rank for r in res.leaderboard] == list(range(1, 7))
    assert not any(r.diverged for r in res.leaderboard)
    assert res.leaderboard[0].name == "momentum"  # the only one near (1, 1) after 500 steps
    assert "rank" in str(res.leaderboard)


def test_race_trajectory_is_the_optimizers():
    res = race("ill_conditioned_bowl", {"Adam": lambda p: Adam(p, lr=0.1)}, steps=50)
    x = ill_conditioned_bowl.start.copy()
    opt = Adam([x], lr=0.1)
    for _ in range(50):
        opt.step([ill_conditioned_bowl.grad(x)])
    np.testing.assert_array_equal(res.trajectories["Adam"][-1], x)


def test_race_flags_divergence_and_steps_to_tolerance():
    res = race("booth", {"too_fast": lambda p: SGD(p, lr=0.2), "fine": lambda p: SGD(p, lr=0.05)},
               steps=300, tol=1e-8)
    fast, fine = {r.name: r for r in res.leaderboard}["too_fast"], res.leaderboard[0]
    assert fast.diverged and fast.rank == 2 and fast.steps_to_tol is None
    assert np.isnan(res.trajectories["too_fast"][-1]).all()
    assert fine.name == "fine" and not fine.diverged
    assert res.losses["fine"][fine.steps_to_tol] <= 1e-8 < res.losses["fine"][fine.steps_to_tol - 1]


def test_race_noisy_landscape_is_fair():
    """Each optimizer sees the same noise: two identical racers tie exactly."""
    res = race(noisy(rosenbrock, sigma=5.0, rng=3), {"a": lambda p: Adam(p, lr=0.02),
                                                      "b": lambda p: Adam(p, lr=0.02)}, steps=100)
    np.testing.assert_array_equal(res.trajectories["a"], res.trajectories["b"])


@pytest.mark.parametrize("args, exc, match", [
    (("nowhere", RACERS), ValueError, "unknown landscape 'nowhere'"),
    ((rosenbrock, {}), TypeError, "non-empty dict"),
    ((rosenbrock, {"x": 3}), TypeError, r"optimizers\['x'\] must be an Optimizer"),
    ((rosenbrock, {"x": lambda p: 3}), TypeError, "must return an optimizer"),
], ids=["unknown_landscape", "empty", "not_callable", "bad_factory"])
def test_race_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        race(*args, steps=5)


# --------------------------------------------------------------------------- second-order racers
def test_race_runs_second_order_methods_padded_to_the_same_length():
    from functools import partial

    from dlcourse.landscapes import beale
    from dlcourse.optim import bfgs, conjugate_gradient, lbfgs, newton

    racers = {"Newton": newton, "CG": conjugate_gradient, "BFGS": bfgs, "L-BFGS(3)": partial(lbfgs, history=3)}
    res = race(beale, racers, steps=200)
    direct = {"Newton": newton(beale.value, beale.grad, beale.hess, beale.start, 200),
              "CG": conjugate_gradient(beale.value, beale.grad, beale.start, 200),
              "BFGS": bfgs(beale.value, beale.grad, beale.start, 200),
              "L-BFGS(3)": lbfgs(beale.value, beale.grad, beale.start, 200, history=3)}
    for name, path in direct.items():
        traj = res.trajectories[name]
        assert traj.shape == (201, 2) and res.evaluations[name].shape == (201,)
        np.testing.assert_array_equal(traj[:len(path)], path)
        np.testing.assert_array_equal(traj[len(path):], np.repeat(path[-1:], 201 - len(path), axis=0))
        assert np.all(np.diff(res.evaluations[name]) >= 0)
    rows = {r.name: r for r in res.leaderboard}
    assert rows["Newton"].steps_to_tol is None and rows["Newton"].final_loss > 10  # a saddle point of Beale
    for name in ("CG", "BFGS", "L-BFGS(3)"):
        assert rows[name].steps_to_tol is not None and rows[name].final_distance < 1e-6
    np.testing.assert_array_equal(res.evaluations["Newton"], np.minimum(np.arange(201), len(direct["Newton"]) - 1))


def test_race_counts_the_gradient_evaluations_of_line_searches():
    from dlcourse.landscapes import Rosenbrock
    from dlcourse.optim import bfgs

    class Counting(Rosenbrock):
        calls = 0

        def grad(self, x):
            Counting.calls += 1
            return super().grad(x)

    land = Counting()
    res = race(land, {"BFGS": bfgs}, steps=100)
    path = bfgs(land.value, land.grad, land.start, 100)
    k = len(path) - 1  # iterations made
    assert res.evaluations["BFGS"][0] == 1  # the gradient at the start
    assert res.evaluations["BFGS"][k] <= Counting.calls / 2  # the race's run and the direct one, each
    assert res.evaluations["BFGS"][k] > k  # some line searches needed more than one evaluation
    assert res.leaderboard[0].final_distance < 1e-6


def test_race_newton_reaches_a_quadratic_minimum_in_one_step_and_stops():
    from dlcourse.optim import conjugate_gradient, newton

    res = race(_bowl, {"Newton": newton, "CG": conjugate_gradient, "GD": lambda p: SGD(p, lr=0.01)}, steps=50,
               tol=1e-12)
    rows = {r.name: r for r in res.leaderboard}
    assert rows["Newton"].steps_to_tol == 1 and rows["Newton"].rank == 1
    assert rows["CG"].steps_to_tol <= 2
    np.testing.assert_allclose(res.trajectories["Newton"][1:], 0.0, atol=1e-12)


def test_race_second_order_escaping_a_saddle_is_flagged():
    from dlcourse.landscapes import saddle
    from dlcourse.optim import bfgs, newton

    res = race(saddle, {"Newton": newton, "BFGS": bfgs}, steps=30)
    rows = {r.name: r for r in res.leaderboard}
    assert not rows["Newton"].diverged and rows["Newton"].final_loss == 0.0  # Newton sits on the saddle
    assert rows["BFGS"].diverged and np.isnan(res.trajectories["BFGS"][-1]).all()
    first_nan = np.flatnonzero(np.isnan(res.trajectories["BFGS"][:, 0]))[0]
    assert np.all(res.evaluations["BFGS"][first_nan:] == res.evaluations["BFGS"][first_nan - 1])


def test_race_rejects_a_positional_partial_and_reranks_rows():
    from functools import partial

    from dlcourse.optim import lbfgs
    from dlcourse.explore.race import Leaderboard

    with pytest.raises(TypeError, match="may only fix keywords"):
        race(rosenbrock, {"x": partial(lbfgs, rosenbrock.value)}, steps=5)
    a = race("booth", {"slow": lambda p: SGD(p, lr=0.01)}, steps=300).leaderboard
    b = race("booth", {"fast": lambda p: SGD(p, lr=0.05)}, steps=300).leaderboard
    both = Leaderboard.from_rows(a + b)
    assert [(r.rank, r.name) for r in both] == [(1, "fast"), (2, "slow")]
    assert both[0][2:] == b[0][2:]


def test_race_caps_the_gradient_evaluations_of_second_order_methods():
    """On a noisy landscape the line searches spend many evaluations per step; the budget stops them."""
    from dlcourse.optim import conjugate_gradient

    land = noisy(rosenbrock, sigma=4.0, rng=0)
    res = race(land, {"CG": conjugate_gradient, "GD": lambda p: SGD(p, lr=1e-3)}, steps=100)
    assert res.evaluations["CG"][-1] <= 200 + 125  # the budget, plus at most one last line search
    assert res.evaluations["GD"][-1] == 100
    small = race(land, {"CG": conjugate_gradient}, steps=100, max_evaluations=20)
    assert 20 <= small.evaluations["CG"][-1] < res.evaluations["CG"][-1]
    with pytest.raises(ValueError, match="max_evaluations must be >= 1"):
        race(land, {"CG": conjugate_gradient}, steps=10, max_evaluations=0)


def test_race_steps_to_tolerance_means_arrived_and_stayed():
    """Momentum on a round bowl passes through the minimum at step 1, swings out, and settles much later."""
    res = race(IllConditionedBowl(condition_number=1.0), {"m": lambda p: SGD(p, lr=1.0, momentum=0.9)},
               steps=300, tol=1e-6)
    loss, k = res.losses["m"], res.leaderboard[0].steps_to_tol
    assert loss[1] <= 1e-6 < loss[2]  # passed through
    assert k > 2 and loss[k - 1] > 1e-6 and np.all(loss[k:] <= 1e-6)
    short = race(IllConditionedBowl(condition_number=1.0), {"m": lambda p: SGD(p, lr=1.0, momentum=0.9)},
                 steps=k - 1, tol=1e-6)
    assert short.leaderboard[0].steps_to_tol is None  # not settled by the end


# --------------------------------------------------------------------------- parameter groups and state dicts
GROUP_CONFIGS = [  # (test id, optimizer, defaults, the bias group's overrides)
    ("sgd_momentum_wd_bias_no_wd", "SGD", dict(lr=2e-2, momentum=0.9, weight_decay=0.1), dict(weight_decay=0.0)),
    ("sgd_nesterov_bias_lr", "SGD", dict(lr=2e-2, momentum=0.9, nesterov=True, weight_decay=0.05),
     dict(lr=1e-2, weight_decay=0.0)),
    ("adagrad_wd_bias_no_wd", "Adagrad", dict(lr=0.05, weight_decay=0.1, initial_accumulator_value=0.1),
     dict(weight_decay=0.0, lr_decay=0.01)),
    ("rmsprop_centered_bias_no_wd", "RMSprop", dict(lr=1e-3, weight_decay=0.1, centered=True, momentum=0.5),
     dict(weight_decay=0.0)),
    ("adadelta_wd_bias_no_wd", "Adadelta", dict(weight_decay=0.1), dict(weight_decay=0.0, rho=0.8)),
    ("adam_wd_bias_no_wd", "Adam", dict(lr=1e-2, weight_decay=0.1), dict(weight_decay=0.0)),
    ("adamw_bias_no_wd_amsgrad", "AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True),
     dict(weight_decay=0.0, betas=(0.8, 0.99))),
]


def _run_groups(torch, name, defaults, overrides, steps):
    problem = PROBLEMS[2]  # least squares: a weight matrix and a bias
    ours = problem.init()
    theirs = [torch.tensor(p, requires_grad=True) for p in problem.init()]
    opt = OPTIMIZERS[name]([{"params": [ours[0]]}, {"params": [ours[1]], **overrides}], **defaults)
    topt = getattr(torch.optim, name)([{"params": [theirs[0]]}, {"params": [theirs[1]], **overrides}],
                                      foreach=False, **defaults)
    for _ in range(steps):
        opt.step(problem.grad(ours))
        for t, g in zip(theirs, problem.grad([t.detach().numpy().copy() for t in theirs])):
            t.grad = torch.from_numpy(g)
        topt.step()
    return problem, opt, ours, topt, theirs


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c[0]) for c in GROUP_CONFIGS])
def test_param_groups_match_torch(torch, cfg):
    """A group of biases with its own hyperparameters (no weight decay): the trajectory is torch's."""
    _, name, defaults, overrides = cfg
    _, opt, ours, topt, theirs = _run_groups(torch, name, defaults, overrides, steps=100)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=RTOL, atol=ATOL)
    for ours_group, torch_group in zip(opt.param_groups, topt.param_groups):
        for key in opt.defaults:
            assert ours_group[key] == torch_group[key], key


def test_bias_group_without_weight_decay_is_not_decayed():
    W, b = np.ones((2, 2)), np.ones(2)
    opt = SGD([{"params": [W]}, {"params": [b], "weight_decay": 0.0}], lr=0.1, weight_decay=1.0)
    opt.step([np.zeros((2, 2)), np.zeros(2)])
    np.testing.assert_array_equal(W, np.full((2, 2), 0.9))
    np.testing.assert_array_equal(b, np.ones(2))
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c[0]) for c in GROUP_CONFIGS])
def test_state_dict_continues_the_trajectory(torch, cfg):
    """An optimizer on copies of the parameters that loads another's state dict steps exactly as it would."""
    _, name, defaults, overrides = cfg
    problem, opt, ours, _, _ = _run_groups(torch, name, defaults, overrides, steps=10)
    copies = [p.copy() for p in ours]
    other = OPTIMIZERS[name]([{"params": [copies[0]]}, {"params": [copies[1]]}])
    other.load_state_dict(opt.state_dict())
    for _ in range(20):
        opt.step(problem.grad(ours))
        other.step(problem.grad(copies))
    for p, c in zip(ours, copies):
        np.testing.assert_array_equal(p, c)


def test_state_dict_has_torchs_layout_and_is_a_copy(torch):
    w, b = np.ones(3), np.zeros(1)
    opt = Adam([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], lr=0.1, weight_decay=0.1)
    opt.step([np.ones(3), np.ones(1)])
    tw, tb = torch.ones(3, requires_grad=True), torch.zeros(1, requires_grad=True)
    topt = torch.optim.Adam([{"params": [tw]}, {"params": [tb], "weight_decay": 0.0}], lr=0.1, weight_decay=0.1)
    tw.grad, tb.grad = torch.ones(3), torch.ones(1)
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]] == [[0], [1]]
    assert set(sd["state"]) == set(tsd["state"]) and set(sd["state"][0]) == set(tsd["state"][0])
    sd["state"][0]["exp_avg"][:] = 99.0  # a copy: the optimizer's state is untouched
    assert opt.state[0]["exp_avg"][0] != 99.0


def test_add_param_group_and_lr_attribute_set_every_group():
    w, b = np.ones(2), np.ones(1)
    opt = SGD([w], lr=0.5)
    opt.add_param_group({"params": [b], "lr": 0.1})
    opt.step([np.ones(2), np.ones(1)])
    np.testing.assert_allclose(w, [0.5, 0.5])
    np.testing.assert_allclose(b, [0.9])
    assert opt.lr == 0.5 and len(opt.state) == 2
    opt.lr = 0.01
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]


def test_the_older_update_signature_with_an_index_still_works_with_a_warning():
    """Fails if ``update(self, i, param, grad, state)`` stops working this term, or stops warning."""
    with pytest.warns(DeprecationWarning, match=r"write update\(self, param, grad, state\)"):
        class OldSignSGD(Optimizer):
            def __init__(self, params, lr=0.01):
                super().__init__(params, {"lr": lr})

            def update(self, i, param, grad, state):
                state["index"] = i
                param -= self.lr * np.sign(grad)

    w, b = np.array([1.0, -1.0]), np.array([0.0])
    opt = OldSignSGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.25)
    opt.step([np.array([3.0, -0.1]), np.array([1.0])])
    np.testing.assert_array_equal(w, [0.75, -0.75])
    np.testing.assert_array_equal(b, [-0.5])
    assert [s["index"] for s in opt.state] == [0, 1]


def test_update_with_an_extra_argument_is_called_the_new_way():
    """Fails if the signature is told by counting parameters: five here, but the first is ``param``, not ``i``."""
    class Extra(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def update(self, param, grad, state, extra=None):
            assert extra is None
            param -= self.lr * grad

    w = np.array([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        Extra([w], lr=0.5).step([np.array([1.0])])
    np.testing.assert_array_equal(w, [0.5])


GROUP_ERRORS = [  # (what is called, exception, part of the message)
    (lambda: SGD([{"params": [np.zeros(2)]}, {"params": [np.zeros(1)], "weight_dacay": 0.0}], lr=0.1),
     TypeError, r"unknown hyperparameter\(s\) \['weight_dacay'\]"),
    (lambda: SGD([{"params": [np.zeros(2)]}, {"params": [np.zeros(1)], "lr": -1.0}], lr=0.1),
     ValueError, r"Invalid learning rate: param_groups\[1\]\['lr'\] must be >= 0, got -1.0"),
    (lambda: SGD([{"params": [np.zeros(2)], "momentum": "a lot"}], lr=0.1), TypeError,
     r"param_groups\[0\]\['momentum'\] must be a real number"),
    (lambda: Adam([{"params": [np.zeros(2)], "betas": 0.9}]), TypeError, r"\['betas'\] must be a tuple of 2"),
    (lambda: SGD([np.zeros(2)], lr=0.1).add_param_group([np.zeros(2)]), TypeError, "must be a dict with a 'params'"),
    (lambda: SGD([{"params": np.zeros(2)}], lr=0.1), TypeError,
     r"param_groups\[0\]\['params'\] must be a list of float arrays"),
    (lambda: SGD([{"params": [_SHARED]}, {"params": [_SHARED]}], lr=0.1), ValueError, "more than one parameter group"),
    (lambda: SGD([np.zeros(2)], lr=0.1).load_state_dict({"state": {}, "param_groups": [{}, {}]}), ValueError,
     "2 parameter group"),
    (lambda: SGD([np.zeros(2)], lr=0.1).load_state_dict([1]), TypeError, "keys 'state' and 'param_groups'"),
    (lambda: SGD([np.zeros(2)], lr=0.1, momentum=0.9).load_state_dict(
        {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": [{"params": [0], "lr": 0.1}]}),
     ValueError, r"state\[0\]\['momentum_buffer'\] has shape \(3,\), parameter 0 \(2,\)"),
]
_SHARED = np.zeros(2)


@pytest.mark.parametrize("call, exc, match", GROUP_ERRORS, ids=[
    "typo_in_group_key", "negative_group_lr", "string_momentum", "betas_not_tuple", "group_not_dict",
    "group_params_array", "same_array_in_two_groups", "state_dict_group_count", "state_dict_not_dict",
    "state_dict_shape"])
def test_param_group_bad_inputs_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- checked assignments and loads
def _snapshot(opt) -> str:
    """Everything ``state_dict()`` holds, as text (arrays as lists), to compare an optimizer before and after."""
    return json.dumps(opt.state_dict(), default=lambda a: a.tolist(), sort_keys=True)


SETTER_ERRORS = [  # (optimizer, assignment, exception, message): each was accepted before the setter checked
    (lambda: SGD([np.zeros(2)], lr=0.1), ("lr", -1), ValueError, r"Invalid learning rate: opt.lr must be >= 0, got -1"),
    (lambda: SGD([np.zeros(2)], lr=0.1), ("lr", "fast"), TypeError, "opt.lr must be a real number, got str"),
    (lambda: SGD([np.zeros(2)], lr=0.1), ("nesterov", True), ValueError, "Nesterov momentum requires a momentum"),
    (lambda: Adam([np.zeros(2)]), ("betas", (1.0, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: opt.betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda: Adadelta([np.zeros(2)]), ("rho", 1.5), ValueError, r"Invalid rho value: opt.rho must be in \[0, 1\]"),
]


@pytest.mark.parametrize("make, assignment, exc, match", SETTER_ERRORS,
                         ids=["negative_lr", "string_lr", "nesterov_no_momentum", "beta_one", "rho_above_one"])
def test_assigning_a_bad_hyperparameter_raises_and_changes_nothing(make, assignment, exc, match):
    """Fails if ``opt.lr = -1`` (or another out-of-range value) is stored, as it was before."""
    opt = make()
    before = _snapshot(opt)
    with pytest.raises(exc, match=match):
        setattr(opt, *assignment)
    assert _snapshot(opt) == before


@pytest.mark.parametrize("make, message", [
    (lambda: Adam([{"params": [np.zeros(2)], "betas": (1.0, 0.999)}]), r"param_groups\[0\]\['betas'\]\[0\]"),
    (lambda: SGD([{"params": [np.zeros(2)], "nesterov": True}], lr=0.1), "Nesterov momentum requires"),
    (lambda: Adadelta([{"params": [np.zeros(2)], "rho": 2.0}]), r"param_groups\[0\]\['rho'\] must be in \[0, 1\]"),
], ids=["group_beta_one", "group_nesterov_no_momentum", "group_rho_above_one"])
def test_group_overrides_get_the_constructors_range_checks(make, message):
    """Fails if a group may set what the constructor refuses (betas=(1, .) divided by zero at the first step)."""
    with pytest.raises(ValueError, match=message):
        make()


def _stepped_adam():
    """Adam with two groups, one step taken: state in both parameters."""
    opt = Adam([{"params": [np.ones(2)]}, {"params": [np.ones(3)], "lr": 0.01}], lr=0.1)
    opt.step([np.ones(2), np.full(3, -1.0)])
    return opt


def _spoiled(**change):
    """A state dict of :func:`_stepped_adam` with group 0's lr changed to a *valid* 0.5, then one bad change."""
    sd = _stepped_adam().state_dict()
    sd["param_groups"][0]["lr"] = 0.5  # valid: must not be applied when the rest is rejected
    if "group1" in change:
        sd["param_groups"][1].update(change["group1"])
    if "state" in change:
        sd["state"] = change["state"](sd["state"])
    return sd


BAD_STATE_DICTS = [  # (state dict, exception, message); each was (partly) loaded before the checks came first
    (_spoiled(group1={"lr": "fast"}), TypeError, r"state_dict\['param_groups'\]\[1\]\['lr'\] must be a real number"),
    (_spoiled(group1={"betas": (1.0, 0.999)}), ValueError, r"\['betas'\]\[0\] must be in \[0, 1\), got 1.0"),
    (_spoiled(group1={"eps": -1.0}), ValueError, r"Invalid epsilon value: .*\['eps'\] must be >= 0, got -1.0"),
    (_spoiled(group1={"amsgrad": "yes"}), TypeError, r"\['amsgrad'\] must be True or False"),
    (_spoiled(state=lambda st: {-1: st[0]}), ValueError, r"key -1 must be a parameter index in \[0, 1\]"),
    (_spoiled(state=lambda st: {2: st[0]}), ValueError, r"key 2 must be a parameter index in \[0, 1\]"),
    (_spoiled(state=lambda st: {"first": st[0]}), TypeError, "keys must be parameter indices"),
    (_spoiled(state=lambda st: {True: st[0]}), TypeError, "keys must be parameter indices"),
    (_spoiled(state=lambda st: {0: st[0], 1: {**st[1], "exp_avg": np.zeros(2)}}), ValueError,
     r"state\[1\]\['exp_avg'\] has shape \(2,\), parameter 1 \(3,\)"),
    (_spoiled(state=lambda st: {0: {**st[0], "step": "one"}}), TypeError, r"state\[0\]\['step'\] must be a number"),
    (_spoiled(state=lambda st: {0: [1.0]}), TypeError, r"state_dict\['state'\]\[0\] must be a dict"),
]


@pytest.mark.parametrize("state_dict, exc, match", BAD_STATE_DICTS, ids=[
    "string_lr", "beta_one", "negative_eps", "string_amsgrad", "negative_key", "key_too_large", "word_key",
    "bool_key", "state_shape", "string_step", "state_not_dict"])
def test_a_rejected_state_dict_leaves_the_optimizer_as_it_was(state_dict, exc, match):
    """Fails if a bad state dict raises late (at step()) or after changing hyperparameters or state."""
    opt = _stepped_adam()
    before = _snapshot(opt)
    with pytest.raises(exc, match=match):
        opt.load_state_dict(state_dict)
    assert _snapshot(opt) == before


def test_state_dict_survives_a_json_round_trip():
    """String keys and lists (what JSON makes of ints and arrays) load; fails if "0" is refused or misplaced."""
    opt = _stepped_adam()
    text = _snapshot(opt)
    other = Adam([{"params": [np.ones(2)]}, {"params": [np.ones(3)], "lr": 0.01}], lr=0.1)
    other.load_state_dict(json.loads(text))
    assert _snapshot(other) == text
    assert isinstance(other.state[1]["exp_avg"], np.ndarray) and other.state[1]["exp_avg"].shape == (3,)
