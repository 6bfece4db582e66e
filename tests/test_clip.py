"""Gradient clipping (Unit 3) against torch.nn.utils, plus properties and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlcourse.optim import clip_grad_norm, clip_grad_value

pytestmark = pytest.mark.unit3

SHAPES = [(3, 4), (5,), (2, 3, 2)]
CASES = [  # (id, scale of the gradients, threshold)
    ("above", 3.0, 1.0),
    ("far_above", 100.0, 0.5),
    ("below", 0.01, 1.0),
    ("equal_ish", 1.0, 4.0),
    ("zero_threshold", 1.0, 0.0),
]


def _grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return [scale * rng.normal(size=s) for s in SHAPES]


def _torch_params(torch, grads):
    params = []
    for g in grads:
        p = torch.zeros(g.shape, requires_grad=True)
        p.grad = torch.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("scale, max_norm", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_clip_grad_norm_matches_torch(torch, scale, max_norm):
    grads = _grads(scale)
    params = _torch_params(torch, grads)
    expected = torch.nn.utils.clip_grad_norm_(params, max_norm)
    total = clip_grad_norm(grads, max_norm)
    assert isinstance(total, float)
    assert total == pytest.approx(float(expected), rel=1e-13)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("scale, clip_value", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_clip_grad_value_matches_torch(torch, scale, clip_value):
    grads = _grads(scale)
    params = _torch_params(torch, grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    assert clip_grad_value(grads, clip_value) is None
    for g, p in zip(grads, params):
        np.testing.assert_array_equal(g, p.grad.numpy())


def test_clip_grad_norm_hand_computed():
    g = [np.array([3.0, 0.0]), np.array([[4.0]])]
    assert clip_grad_norm(g, 1.0) == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(g[0], [3 * coef, 0.0])
    np.testing.assert_allclose(g[1], [[4 * coef]])
    zeros = [np.zeros(3)]
    assert clip_grad_norm(zeros, 1.0) == 0.0 and not zeros[0].any()
    assert clip_grad_norm([], 1.0) == 0.0


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e6, 1e6)),
       arrays(np.float64, (2, 2), elements=st.floats(-1e6, 1e6)), st.floats(1e-3, 1e3))
def test_clipped_norm_at_most_max_norm_and_direction_kept(a, b, max_norm):
    grads = [a.copy(), b.copy()]
    total = clip_grad_norm(grads, max_norm)
    new = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    assert new <= max_norm * (1 + 1e-12)
    flat, old = np.concatenate([g.ravel() for g in grads]), np.concatenate([a.ravel(), b.ravel()])
    if total > 0:  # the same direction: parallel, same sign
        assert np.dot(flat, old) >= 0
        np.testing.assert_allclose(flat * total, old * new, rtol=1e-9, atol=1e-9 * total * max(new, 1))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 10), elements=st.floats(-1e6, 1e6)), st.floats(0.0, 10.0))
def test_clipped_values_in_range(a, c):
    g = a.copy()
    clip_grad_value([g], c)
    assert np.all(np.abs(g) <= c)
    inside = np.abs(a) <= c
    np.testing.assert_array_equal(g[inside], a[inside])


@pytest.mark.parametrize("call, exc, match", [
    (lambda: clip_grad_norm(np.ones(3), 1.0), TypeError, "wrap a single array in a list"),
    (lambda: clip_grad_norm([np.arange(3)], 1.0), TypeError, r"grads\[0\] must be a float numpy array"),
    (lambda: clip_grad_norm([[1.0, 2.0]], 1.0), TypeError, r"grads\[0\] must be a float numpy array.*got list"),
    (lambda: clip_grad_norm([np.ones(3)], -1.0), ValueError, "max_norm must be in"),
    (lambda: clip_grad_value([np.ones(3)], -0.5), ValueError, "clip_value must be in"),
    (lambda: clip_grad_value([np.ones(3)], "1"), TypeError, "clip_value must be a real number"),
], ids=["single_array", "int_array", "list", "negative_max_norm", "negative_clip_value", "string"])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
