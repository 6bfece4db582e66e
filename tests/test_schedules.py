"""Learning-rate schedules (Unit 3): the lecture notes' table, torch's schedulers, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.optim import SGD
from dlcourse.optim.schedules import (SCHEDULES, cosine_annealing, exponential_decay, inverse_time_decay,
                                      linear_warmup, step_decay)

pytestmark = pytest.mark.unit3

EPOCHS = 60


def test_inverse_time_decay_lecture_notes_table():
    """alpha_0 = 0.2, k = 1: epochs 1..4 give 0.1, 0.0667, 0.05, 0.04."""
    got = [inverse_time_decay(0.2, 1.0, t) for t in [1, 2, 3, 4]]
    np.testing.assert_allclose(got, [0.1, 0.2 / 3, 0.05, 0.04], rtol=1e-15)
    assert [round(x, 4) for x in got] == [0.1, 0.0667, 0.05, 0.04]
    assert inverse_time_decay(0.2, 1.0, 0) == 0.2


TORCH_CASES = [  # (id, our schedule as a function of epoch, torch scheduler factory, lr0)
    ("step_lr", lambda t: step_decay(0.1, 7, 0.5, t), lambda S, o: S.StepLR(o, step_size=7, gamma=0.5), 0.1),
    ("step_lr_default_gamma", lambda t: step_decay(0.3, 10, 0.1, t), lambda S, o: S.StepLR(o, 10), 0.3),
    ("exponential_lr", lambda t: exponential_decay(0.1, 0.95, t), lambda S, o: S.ExponentialLR(o, 0.95), 0.1),
    ("cosine", lambda t: cosine_annealing(0.1, 20, t), lambda S, o: S.CosineAnnealingLR(o, T_max=20), 0.1),
    ("cosine_eta_min", lambda t: cosine_annealing(0.5, 25, t, eta_min=0.01),
     lambda S, o: S.CosineAnnealingLR(o, T_max=25, eta_min=0.01), 0.5),
    ("linear_warmup", lambda t: linear_warmup(0.2, 5, t),
     lambda S, o: S.LinearLR(o, start_factor=1 / 5, end_factor=1.0, total_iters=4), 0.2),
]


def _torch_lrs(torch, factory, lr0, epochs=EPOCHS):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = factory(torch.optim.lr_scheduler, opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return np.array(lrs)


@pytest.mark.parametrize("ours, factory, lr0", [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES])
def test_schedule_matches_torch_scheduler(torch, ours, factory, lr0):
    expected = _torch_lrs(torch, factory, lr0)
    got = np.array([ours(t) for t in range(EPOCHS)])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)  # torch's cosine is recursive
    np.testing.assert_allclose(ours(np.arange(EPOCHS)), got, rtol=1e-15)  # vectorised = scalar


def test_training_with_a_schedule_matches_torch(torch):
    """Our SGD with ``opt.lr = step_decay(...)`` each epoch follows torch's SGD + StepLR."""
    w = np.array([2.0, -3.0])
    opt = SGD([w], lr=0.1, momentum=0.9)
    tw = torch.tensor([2.0, -3.0], requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(topt, step_size=10, gamma=0.3)
    scale = np.array([1.0, 4.0])
    for epoch in range(50):
        opt.lr = step_decay(0.1, 10, 0.3, epoch)
        opt.step([scale * w])
        tw.grad = torch.from_numpy(scale * tw.detach().numpy())
        topt.step()
        sched.step()
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_scalar_in_float_out_array_in_array_out():
    for name, fn in SCHEDULES.items():
        args = {"inverse_time_decay": (0.1, 0.5), "step_decay": (0.1, 3, 0.5), "exponential_decay": (0.1, 0.9),
                "cosine_annealing": (0.1, 10), "linear_warmup": (0.1, 4)}[name]
        assert isinstance(fn(*args, 3), float), name
        out = fn(*args, np.arange(12).reshape(3, 4))
        assert isinstance(out, np.ndarray) and out.shape == (3, 4), name


def test_cosine_closed_form_points():
    assert cosine_annealing(0.1, 10, 0) == pytest.approx(0.1)
    assert cosine_annealing(0.1, 10, 5) == pytest.approx(0.05)
    assert cosine_annealing(0.1, 10, 10, eta_min=0.001) == pytest.approx(0.001)
    assert cosine_annealing(0.1, 10, 20) == pytest.approx(0.1)  # periodic, as torch's


@settings(max_examples=50, deadline=None)
@given(lr0=st.floats(1e-6, 10.0), rate=st.floats(0.0, 10.0), gamma=st.floats(0.01, 1.0),
       step_size=st.integers(1, 50), T_max=st.integers(1, 200))
def test_decays_are_positive_and_non_increasing(lr0, rate, gamma, step_size, T_max):
    t = np.arange(0, 300)
    for lrs in [inverse_time_decay(lr0, rate, t), step_decay(lr0, step_size, gamma, t),
                exponential_decay(lr0, gamma, t), cosine_annealing(lr0, T_max, t[:T_max + 1])]:
        assert np.all(lrs >= 0) and np.all(lrs <= lr0 * (1 + 1e-12))
        assert np.all(np.diff(lrs) <= 1e-15 * lr0)
    warm = linear_warmup(lr0, step_size, t)
    assert np.all(np.diff(warm) >= 0) and warm[-1] == pytest.approx(lr0)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: inverse_time_decay(0.1, 1.0, -1), ValueError, "epoch must be >= 0"),
    (lambda: inverse_time_decay(0.1, 1.0, "3"), TypeError, "epoch must be a non-negative number"),
    (lambda: inverse_time_decay(-0.1, 1.0, 1), ValueError, "lr0 must be in"),
    (lambda: inverse_time_decay(0.1, -1.0, 1), ValueError, "decay_rate must be in"),
    (lambda: step_decay(0.1, 0, 0.1, 1), ValueError, "step_size must be >= 1"),
    (lambda: step_decay(0.1, 2.5, 0.1, 1), TypeError, "step_size must be an integer"),
    (lambda: cosine_annealing(0.1, 0, 1), ValueError, "T_max must be >= 1"),
    (lambda: exponential_decay(0.1, -0.5, 1), ValueError, "gamma must be in"),
    (lambda: linear_warmup(0.1, 0, 1), ValueError, "warmup_epochs must be >= 1"),
    (lambda: exponential_decay(0.1, 0.9, [1, np.nan]), ValueError, "epoch must be >= 0 and finite"),
], ids=["negative_epoch", "string_epoch", "negative_lr0", "negative_rate", "zero_step_size",
        "float_step_size", "zero_T_max", "negative_gamma", "zero_warmup", "nan_epoch"])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- tuning helpers
from dlcourse.optim import tuning  # noqa: E402


def test_ema_is_bias_corrected():
    x = np.array([2.0, 4.0, 6.0])
    beta = 0.5
    a1 = 0.5 * 2.0
    a2 = 0.5 * a1 + 0.5 * 4.0
    a3 = 0.5 * a2 + 0.5 * 6.0
    np.testing.assert_allclose(tuning.ema(x, beta), [a1 / 0.5, a2 / 0.75, a3 / 0.875])
    np.testing.assert_allclose(tuning.ema(x, 0.0), x)
    np.testing.assert_allclose(tuning.ema(np.full(50, 3.0), 0.98), 3.0)  # a constant stays constant
    with pytest.raises(ValueError, match="beta must be < 1"):
        tuning.ema(x, 1.0)
    with pytest.raises(ValueError, match="values must be 1-D"):
        tuning.ema(np.ones((2, 2)), 0.5)


def test_log_uniform_gives_each_decade_the_same_share():
    s = tuning.log_uniform(1e-4, 1.0, 40_000, rng=0)
    assert s.min() >= 1e-4 and s.max() <= 1.0
    shares = np.histogram(np.log10(s), bins=4, range=(-4, 0))[0] / len(s)
    np.testing.assert_allclose(shares, 0.25, atol=0.01)
    with pytest.raises(ValueError, match="low must be in"):
        tuning.log_uniform(0.0, 1.0)


def test_lr_range_and_suggestions():
    lrs = tuning.lr_range(1e-3, 10.0, 41)
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(10.0)
    np.testing.assert_allclose(np.diff(np.log10(lrs)), 0.1)
    # a loss that falls fastest at lr = 0.1 (a logistic step in log lr) and blows up after 1
    x = np.log10(lrs)
    loss = 2.0 - 1.5 / (1 + np.exp(-(x + 1) * 4)) + np.where(x > 0, 50 * x, 0.0)
    steepest, tenth = tuning.suggest_lr(lrs, loss)
    assert steepest == pytest.approx(0.1, rel=0.05)
    assert tenth == pytest.approx(lrs[np.argmin(loss)] / 10)
    loss[30:] = np.inf
    assert tuning.suggest_lr(lrs, loss)[1] == pytest.approx(lrs[np.argmin(loss[:30])] / 10)
    with pytest.raises(ValueError, match="same length"):
        tuning.suggest_lr(lrs, loss[:5])
    with pytest.raises(ValueError, match="lower lr_min"):
        tuning.suggest_lr(lrs, np.r_[1.0, np.full(40, np.nan)])
