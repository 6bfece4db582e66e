"""Tests of dlcourse.losses: torch parity (values and autograd gradients, float64),
central finite differences, extreme inputs, hypothesis properties, the lecture notes'
worked numbers recomputed, and bad inputs. One table of cases drives the generic tests.
"""

from __future__ import annotations

import math
import zlib
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlcourse import losses as L
from dlcourse.checks import numerical_gradient
from dlcourse.losses import LOSS_FUNCTIONS

pytestmark = pytest.mark.unit2

CONTRACT_NAMES = {
    "mse", "mae", "huber", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "categorical_cross_entropy", "kl_divergence", "hinge", "multiclass_hinge",
    "margin_ranking", "triplet_margin", "contrastive",
}
GAP = 0.05  # how far every input stays from a kink, so that central differences are exact


# --------------------------------------------------------------------------- input builders

def _away(rng, shape, kinks=(0.0,), lo=-3.0, hi=3.0):
    """Uniform values at least GAP away from each kink."""
    x = rng.uniform(lo, hi, shape)
    for _ in range(100):
        bad = np.min([np.abs(x - k) for k in kinks], axis=0) < GAP
        if not bad.any():
            return x
        x[bad] = rng.uniform(lo, hi, int(bad.sum()))
    raise AssertionError("could not draw inputs away from the kinks")


def _redraw(rng, draw, gap):
    """Call ``draw(rng)`` until every entry of ``gap(*args)`` is at least GAP from 0."""
    for _ in range(200):
        args = draw(rng)
        if np.min(np.abs(gap(*args))) >= GAP:
            return args
    raise AssertionError("could not draw inputs away from the kinks")


def _simplex(rng, shape, floor=0.02):
    """Rows of positive probabilities (each at least ``floor``) summing to 1."""
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    p = floor + (1 - shape[-1] * floor) * p
    return p / p.sum(axis=-1, keepdims=True)


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _one_hot(labels, c):
    return np.eye(c)[labels]


def _regression(shape, kinks=(0.0,), **kw):
    def make(rng):
        target = rng.normal(size=shape)
        return (target + _away(rng, shape, kinks), target), kw
    return make


def _bce(shape, soft=False, logits=False):
    def make(rng):
        x = rng.normal(0, 3, shape) if logits else rng.uniform(0.05, 0.95, shape)
        y = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)
        return (x, y), {}
    return make


def _ce(shape, weight=False, label_smoothing=None):
    def make(rng):
        n, c, *spatial = shape
        kw = {} if label_smoothing is None else {"label_smoothing": label_smoothing}
        if weight:
            kw["weight"] = rng.uniform(0.2, 3.0, c)
        return (rng.normal(0, 2, shape), rng.integers(0, c, (n, *spatial))), kw
    return make


def _categorical(n, c, soft=False):
    def make(rng):
        target = _simplex(rng, (n, c)) if soft else _one_hot(rng.integers(0, c, n), c)
        return (_simplex(rng, (n, c)), target), {}
    return make


def _kl(n, c, one_hot_p=False):
    def make(rng):
        p = _one_hot(rng.integers(0, c, n), c) if one_hot_p else _simplex(rng, (n, c))
        return (_simplex(rng, (n, c)), p), {}
    return make


def _hinge(shape):
    def make(rng):
        y = _signs(rng, shape)
        return (y * (1.0 + _away(rng, shape)), y), {}
    return make


def _multiclass_hinge(n, c, squared=False):
    def draw(rng):
        return rng.normal(0, 2, (n, c)), rng.integers(0, c, n)

    def gap(s, y):
        m = s - s[np.arange(n), y][:, None] + 1.0
        m[np.arange(n), y] = 1.0
        return m

    return lambda rng: (_redraw(rng, draw, gap), {"squared": squared})


def _margin_ranking(shape, margin=0.0):
    def draw(rng):
        return rng.normal(size=shape), rng.normal(size=shape), _signs(rng, shape)

    return lambda rng: (_redraw(rng, draw, lambda a, b, y: -y * (a - b) + margin), {"margin": margin})


def _triplet(shape, margin=1.0):
    def draw(rng):
        return tuple(rng.normal(size=shape) for _ in range(3))

    def gap(a, p, n):
        d = lambda u, v: np.linalg.norm(u - v + L.PAIRWISE_EPS, axis=-1)  # noqa: E731
        return margin + d(a, p) - d(a, n)

    return lambda rng: (_redraw(rng, draw, gap), {"margin": margin})


def _contrastive(shape, margin=1.0):
    def make(rng):
        d = _away(rng, shape, kinks=(0.0, margin), lo=0.0, hi=2.5 * margin)
        return (d, rng.integers(0, 2, shape).astype(float)), {"margin": margin}
    return make


# --------------------------------------------------------------------------- torch references

def _t_categorical(torch, F, p, y):
    return -(y * torch.log(p).clamp(min=-100)).sum(1).mean()


def _t_kl(torch, F, q, p):
    return F.kl_div(q.log(), p, reduction="batchmean")


def _t_hinge(torch, F, s, y):
    return torch.clamp(1 - y * s, min=0).mean()


def _t_multiclass_hinge(torch, F, s, y, squared=False):
    return s.shape[1] * F.multi_margin_loss(s, y, p=2 if squared else 1, margin=1.0)


def _t_contrastive(torch, F, d, y, margin=1.0):
    return (y * d ** 2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean() / 2


class Case(NamedTuple):
    id: str
    loss: str
    make: Callable  # rng -> (args, kwargs)
    torch_ref: Callable  # (torch, F, *tensors, **kwargs) -> 0-d tensor


CASES = [
    Case("mse-1d", "mse", _regression((7,)), lambda torch, F, x, t: F.mse_loss(x, t)),
    Case("mse-3d", "mse", _regression((2, 3, 4)), lambda torch, F, x, t: F.mse_loss(x, t)),
    Case("mae-2d", "mae", _regression((4, 3)), lambda torch, F, x, t: F.l1_loss(x, t)),
    Case("huber-default", "huber", _regression((8,), kinks=(0, -1, 1)),
         lambda torch, F, x, t: F.huber_loss(x, t)),
    Case("huber-delta0.5", "huber", _regression((3, 4), kinks=(0, -0.5, 0.5), delta=0.5),
         lambda torch, F, x, t, delta: F.huber_loss(x, t, delta=delta)),
    Case("huber-delta2", "huber", _regression((9,), kinks=(0, -2, 2), delta=2.0),
         lambda torch, F, x, t, delta: F.huber_loss(x, t, delta=delta)),
    Case("bce-hard", "binary_cross_entropy", _bce((6,)),
         lambda torch, F, p, y: F.binary_cross_entropy(p, y)),
    Case("bce-soft-2d", "binary_cross_entropy", _bce((3, 4), soft=True),
         lambda torch, F, p, y: F.binary_cross_entropy(p, y)),
    Case("bce-logits-hard", "binary_cross_entropy_with_logits", _bce((6,), logits=True),
         lambda torch, F, z, y: F.binary_cross_entropy_with_logits(z, y)),
    Case("bce-logits-soft-3d", "binary_cross_entropy_with_logits", _bce((2, 3, 2), soft=True, logits=True),
         lambda torch, F, z, y: F.binary_cross_entropy_with_logits(z, y)),
    Case("ce-2d", "cross_entropy", _ce((5, 4)), lambda torch, F, z, t: F.cross_entropy(z, t)),
    Case("ce-one-sample", "cross_entropy", _ce((1, 3)), lambda torch, F, z, t: F.cross_entropy(z, t)),
    Case("ce-4d-pixelwise", "cross_entropy", _ce((2, 3, 4, 5)), lambda torch, F, z, t: F.cross_entropy(z, t)),
    Case("ce-weight", "cross_entropy", _ce((6, 4), weight=True),
         lambda torch, F, z, t, weight: F.cross_entropy(z, t, weight=weight)),
    Case("ce-label-smoothing", "cross_entropy", _ce((6, 4), label_smoothing=0.1),
         lambda torch, F, z, t, label_smoothing: F.cross_entropy(z, t, label_smoothing=label_smoothing)),
    Case("ce-4d-weight-label-smoothing", "cross_entropy", _ce((2, 3, 2, 3), weight=True, label_smoothing=0.25),
         lambda torch, F, z, t, **kw: F.cross_entropy(z, t, **kw)),
    Case("categorical-one-hot", "categorical_cross_entropy", _categorical(5, 4), _t_categorical),
    Case("categorical-soft", "categorical_cross_entropy", _categorical(3, 5, soft=True), _t_categorical),
    Case("kl", "kl_divergence", _kl(4, 3), _t_kl),
    Case("kl-one-hot-p", "kl_divergence", _kl(5, 4, one_hot_p=True), _t_kl),
    Case("hinge-1d", "hinge", _hinge((8,)), _t_hinge),
    Case("hinge-2d", "hinge", _hinge((3, 4)), _t_hinge),
    Case("multiclass-hinge", "multiclass_hinge", _multiclass_hinge(6, 4), _t_multiclass_hinge),
    Case("multiclass-hinge-squared", "multiclass_hinge", _multiclass_hinge(5, 3, squared=True),
         _t_multiclass_hinge),
    Case("margin-ranking", "margin_ranking", _margin_ranking((8,)),
         lambda torch, F, a, b, y, margin: F.margin_ranking_loss(a, b, y, margin=margin)),
    Case("margin-ranking-margin1", "margin_ranking", _margin_ranking((2, 5), margin=1.0),
         lambda torch, F, a, b, y, margin: F.margin_ranking_loss(a, b, y, margin=margin)),
    Case("triplet", "triplet_margin", _triplet((5, 3)),
         lambda torch, F, a, p, n, margin: F.triplet_margin_loss(a, p, n, margin=margin)),
    Case("triplet-margin0.5", "triplet_margin", _triplet((6, 2), margin=0.5),
         lambda torch, F, a, p, n, margin: F.triplet_margin_loss(a, p, n, margin=margin)),
    Case("triplet-1d", "triplet_margin", _triplet((4,)),
         lambda torch, F, a, p, n, margin: F.triplet_margin_loss(a, p, n, margin=margin)),
    Case("contrastive", "contrastive", _contrastive((8,)), _t_contrastive),
    Case("contrastive-margin2", "contrastive", _contrastive((3, 3), margin=2.0), _t_contrastive),
]
IDS = [c.id for c in CASES]


def _tensor(torch, a):
    a = np.asarray(a)
    return torch.tensor(a) if a.dtype.kind in "iu" else torch.tensor(a, dtype=torch.float64)


def _torch_value_and_grad(torch, case_ref, args, kw):
    import torch.nn.functional as F

    targs = [_tensor(torch, a) for a in args]
    targs[0].requires_grad_(True)
    tkw = {k: _tensor(torch, v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = case_ref(torch, F, *targs, **tkw)
    out.backward()
    return out.item(), targs[0].grad.numpy()


def _check_against_torch(torch, name, args, kw, ref, rtol=1e-10):
    fn, grad_fn = LOSS_FUNCTIONS[name]
    value, grad = fn(*args, **kw), grad_fn(*args, **kw)
    t_value, t_grad = _torch_value_and_grad(torch, ref, args, kw)
    assert type(value) is float and math.isfinite(value)
    assert grad.shape == np.shape(args[0]) and grad.dtype == np.float64 and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, t_value, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=rtol, atol=1e-14)


# --------------------------------------------------------------------------- generic tests

def test_registry_has_every_contract_loss_with_its_twin():
    assert set(LOSS_FUNCTIONS) == CONTRACT_NAMES
    for name, (fn, grad_fn) in LOSS_FUNCTIONS.items():
        assert fn is getattr(L, name) and grad_fn is getattr(L, f"{name}_grad")
        assert L.get_loss(name) == (fn, grad_fn)
        assert fn.__doc__ and ".. math::" in fn.__doc__ and "Unit 2" in fn.__doc__
    assert {c.loss for c in CASES} == CONTRACT_NAMES


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_and_gradient_match_torch(case, torch):
    args, kw = case.make(np.random.default_rng(zlib.crc32(case.id.encode())))
    _check_against_torch(torch, case.loss, args, kw, case.torch_ref)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_matches_central_differences(case):
    args, kw = case.make(np.random.default_rng(zlib.crc32(case.id.encode()) + 1))
    fn, grad_fn = LOSS_FUNCTIONS[case.loss]
    numeric = numerical_gradient(lambda x: fn(x, *args[1:], **kw), args[0], h=1e-5)
    np.testing.assert_allclose(grad_fn(*args, **kw), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_loss_is_non_negative_and_finite(case, seed):
    args, kw = case.make(np.random.default_rng(seed))
    fn, grad_fn = LOSS_FUNCTIONS[case.loss]
    assert fn(*args, **kw) >= 0.0
    assert np.all(np.isfinite(grad_fn(*args, **kw)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inputs_are_not_modified(case):
    args, kw = case.make(np.random.default_rng(3))
    copies = [np.array(a, copy=True) for a in args]
    fn, grad_fn = LOSS_FUNCTIONS[case.loss]
    fn(*args, **kw), grad_fn(*args, **kw)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------------- extreme inputs

def _extreme_logits(shape, soft=False):
    def make(rng):
        z = rng.choice([-1e4, 1e4], size=shape) + rng.normal(size=shape)
        y = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)
        return (z, y), {}
    return make


def _extreme_ce(shape, **kw):
    def make(rng):
        n, c, *spatial = shape
        z = rng.choice([-1e4, 0.0, 1e4], size=shape) + rng.normal(size=shape)
        extra = {k: v for k, v in kw.items() if k != "weight"}
        if kw.get("weight"):
            extra["weight"] = rng.uniform(0.5, 2, c)
        return (z, rng.integers(0, c, (n, *spatial))), extra
    return make


EXTREME_CASES = [
    Case("bce-logits-1e4", "binary_cross_entropy_with_logits", _extreme_logits((10,)),
         lambda torch, F, z, y: F.binary_cross_entropy_with_logits(z, y)),
    Case("bce-logits-1e4-soft", "binary_cross_entropy_with_logits", _extreme_logits((3, 4), soft=True),
         lambda torch, F, z, y: F.binary_cross_entropy_with_logits(z, y)),
    Case("ce-1e4", "cross_entropy", _extreme_ce((6, 3)), lambda torch, F, z, t: F.cross_entropy(z, t)),
    Case("ce-1e4-4d", "cross_entropy", _extreme_ce((2, 3, 3, 2)), lambda torch, F, z, t: F.cross_entropy(z, t)),
    Case("ce-1e4-weight-smoothing", "cross_entropy", _extreme_ce((6, 4), weight=True, label_smoothing=0.1),
         lambda torch, F, z, t, **kw: F.cross_entropy(z, t, **kw)),
    Case("hinge-1e4", "hinge", lambda rng: ((_signs(rng, 6) * 1e4, _signs(rng, 6)), {}), _t_hinge),
    Case("multiclass-hinge-1e4", "multiclass_hinge",
         lambda rng: ((rng.choice([-1e4, 1e4], (4, 3)) + rng.normal(size=(4, 3)), rng.integers(0, 3, 4)),
                      {"squared": True}), _t_multiclass_hinge),
]


@pytest.mark.parametrize("case", EXTREME_CASES, ids=[c.id for c in EXTREME_CASES])
def test_extreme_logits_are_finite_and_match_torch(case, torch):
    args, kw = case.make(np.random.default_rng(7))
    _check_against_torch(torch, case.loss, args, kw, case.torch_ref, rtol=1e-12)


def test_bce_on_probabilities_exactly_0_and_1(torch):
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.5])
    t_value, t_grad = _torch_value_and_grad(torch, lambda torch, F, a, b: F.binary_cross_entropy(a, b), (p, y), {})
    assert L.binary_cross_entropy(p, y) == pytest.approx(t_value, rel=1e-12)  # logs clamped at -100
    grad = L.binary_cross_entropy_grad(p, y)
    assert np.all(np.isfinite(grad))
    wrong = p != y  # certain and (at least partly) wrong: the same 1/eps-sized gradient as torch
    # (torch's EPSILON is float32(1e-12) = 0.9999999960e-12, hence rtol 1e-8)
    np.testing.assert_allclose(grad[wrong], t_grad[wrong], rtol=1e-8)
    # certain and right: the one-sided derivative -y/p + (1-y)/(1-p) = +-1, divided by N (torch: 0)
    np.testing.assert_allclose(grad[~wrong], np.array([1.0, -1.0]) / p.size)


def test_categorical_and_kl_on_probabilities_exactly_0_and_1(torch):
    q = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    for fn, grad_fn in [(L.categorical_cross_entropy, L.categorical_cross_entropy_grad),
                        (L.kl_divergence, L.kl_divergence_grad)]:
        assert math.isfinite(fn(q, p)) and np.all(np.isfinite(grad_fn(q, p)))
    # two certain and wrong rows cost the clamped -log 0 = 100 each; the first row costs 0
    assert L.categorical_cross_entropy(q, p) == pytest.approx(200 / 3)
    assert L.kl_divergence(q, p) == pytest.approx(200 / 3)
    np.testing.assert_allclose(L.kl_divergence_grad(q, p)[1:, [0, 2]], [[-1e12 / 3, 0], [0, -1e12 / 3]])
    # where q > 0 everywhere p > 0, KL equals torch's kl_div even with zeros in p
    q2 = np.array([[0.2, 0.5, 0.3], [0.7, 0.3, 1e-300]])
    p2 = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    t_value, _ = _torch_value_and_grad(torch, _t_kl, (q2, p2), {})
    assert L.kl_divergence(q2, p2) == pytest.approx(t_value, abs=1e-15)


# --------------------------------------------------------------------------- hypothesis properties

_finite = st.floats(-1e6, 1e6, allow_nan=False)
_vectors = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=_finite)


@settings(max_examples=60, deadline=None)
@given(x=_vectors, data=st.data())
@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_regression_losses_zero_at_perfect_prediction_symmetric_non_negative(name, x, data):
    fn, grad_fn = LOSS_FUNCTIONS[name]
    assert fn(x, x) == 0.0 and np.all(grad_fn(x, x) == 0.0)
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=_finite))
    assert fn(x, y) >= 0.0
    if name in ("mse", "mae"):
        assert fn(x, y) == fn(y, x)
    assert math.isfinite(fn(x, y))


def _distributions(n, c):
    rows = hnp.arrays(np.float64, (n, c), elements=st.floats(0.0, 1.0))
    return rows.filter(lambda a: np.all(a.sum(axis=1) > 1e-3)).map(lambda a: a / a.sum(axis=1, keepdims=True))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), c=st.integers(2, 5))
def test_kl_divergence_is_zero_for_equal_distributions_and_non_negative(data, n, c):
    p = data.draw(_distributions(n, c))
    q = data.draw(_distributions(n, c))
    assert L.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert L.kl_divergence(q, p) >= -1e-12  # Gibbs' inequality (round-off aside)


@settings(max_examples=60, deadline=None)
@given(z=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-15, 15)), data=st.data())
def test_bce_with_logits_equals_bce_of_sigmoid(z, data):
    y = data.draw(hnp.arrays(np.float64, z.shape, elements=st.sampled_from([0.0, 1.0])))
    p = 1.0 / (1.0 + np.exp(-z))
    expected = L.binary_cross_entropy(p, y)
    assert L.binary_cross_entropy_with_logits(z, y) == pytest.approx(expected, rel=1e-8, abs=1e-12)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits_grad(z, y), (p - y) / z.size, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), c=st.integers(2, 5))
def test_sparse_and_categorical_cross_entropy_agree(data, n, c):
    z = data.draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-20, 20)))
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    assert L.cross_entropy(z, t) == pytest.approx(L.categorical_cross_entropy(probs, _one_hot(t, c)), rel=1e-9)
    # softmax + cross-entropy: the gradient with respect to the logits is (y_hat - y) / N
    np.testing.assert_allclose(L.cross_entropy_grad(z, t), (probs - _one_hot(t, c)) / n, atol=1e-15)


# --------------------------------------------------------------------------- the lecture notes' numbers

def _pixel_logits():
    """A 1 x 3 x 2 x 2 image whose every pixel predicts [0.1, 0.7, 0.2] and is of class 1."""
    return np.broadcast_to(np.log([0.1, 0.7, 0.2])[None, :, None, None], (1, 3, 2, 2)).copy()


EPS = L.PAIRWISE_EPS  # torch's pairwise_distance adds it to the difference a - b

WORKED = [
    ("bce, confident and wrong", lambda: L.binary_cross_entropy([0.01], [1.0]), -math.log(0.01), 4.6052),
    ("kl, close distributions", lambda: L.kl_divergence([[0.6, 0.3, 0.1]], [[0.7, 0.2, 0.1]]),
     0.7 * math.log(0.7 / 0.6) + 0.2 * math.log(0.2 / 0.3), 0.0268),
    ("kl, confidently wrong", lambda: L.kl_divergence([[0.1, 0.8, 0.1]], [[0.7, 0.2, 0.1]]),
     0.7 * math.log(7.0) + 0.2 * math.log(0.25), 1.0849),
    ("hinge, score 2", lambda: L.hinge([2.0], [1.0]), 0.0, 0.0),
    ("hinge, score 0.5", lambda: L.hinge([0.5], [1.0]), 0.5, 0.5),
    ("hinge, score -0.5", lambda: L.hinge([-0.5], [1.0]), 1.5, 1.5),
    ("hinge, mean of the three", lambda: L.hinge([2.0, 0.5, -0.5], [1.0, 1.0, 1.0]), 2.0 / 3.0, 0.6667),
    ("pixel-wise ce, one pixel", lambda: L.cross_entropy(_pixel_logits()[..., :1, :1], [[[1]]]),
     -math.log(0.7), 0.3567),
    ("pixel-wise ce, 2x2 image", lambda: L.cross_entropy(_pixel_logits(), [[[1, 1], [1, 1]]]),
     -math.log(0.7), 0.3567),
    ("categorical ce, dog at 0.7", lambda: L.categorical_cross_entropy([[0.1, 0.7, 0.2]], [[0, 1, 0]]),
     -math.log(0.7), 0.3567),
    ("sparse ce, same value", lambda: L.cross_entropy(np.log([[0.1, 0.7, 0.2]]), [1]), -math.log(0.7), 0.3567),
    ("categorical ce, dog at 0.2", lambda: L.categorical_cross_entropy([[0.7, 0.2, 0.1]], [[0, 1, 0]]),
     -math.log(0.2), 1.6094),
    # the notes' contrastive examples report y*d^2 (0.25, 2.25) and drop their own 1/2
    ("contrastive m=2, similar d=0.5", lambda: L.contrastive([0.5], [1.0], margin=2.0), 0.125, 0.125),
    ("contrastive m=2, dissimilar d=0.5", lambda: L.contrastive([0.5], [0.0], margin=2.0), 1.125, 1.125),
    ("contrastive m=2, dissimilar d=3", lambda: L.contrastive([3.0], [0.0], margin=2.0), 0.0, 0.0),
    ("triplet m=0.5, d(a,p)=0.8 d(a,n)=1", lambda: L.triplet_margin([[0.0]], [[0.8]], [[-1.0]], margin=0.5),
     0.5 + abs(-0.8 + EPS) - abs(1.0 + EPS), 0.3),
    ("triplet m=0.5, d(a,p)=0.8 d(a,n)=2", lambda: L.triplet_margin([[0.0]], [[0.8]], [[-2.0]], margin=0.5),
     0.0, 0.0),
    ("margin ranking m=1, y=+1 3 vs 1", lambda: L.margin_ranking([3.0], [1.0], [1.0], margin=1.0), 0.0, 0.0),
    ("margin ranking m=1, y=+1 2 vs 2", lambda: L.margin_ranking([2.0], [2.0], [1.0], margin=1.0), 1.0, 1.0),
    ("margin ranking m=1, y=-1 4 vs 5", lambda: L.margin_ranking([4.0], [5.0], [-1.0], margin=1.0), 0.0, 0.0),
    ("multiclass hinge, cat scores", lambda: L.multiclass_hinge([[3.2, 5.1, -1.7]], [0]), 2.9, 2.9),
    ("squared multiclass hinge", lambda: L.multiclass_hinge([[3.2, 5.1, -1.7]], [0], squared=True), 8.41, 8.41),
    ("mse with one outlier", lambda: L.mse([1.0, 2.0, 3.0], [1.0, 2.0, 7.0]), 16 / 3, 5.3333),
    ("mae with one outlier", lambda: L.mae([1.0, 2.0, 3.0], [1.0, 2.0, 7.0]), 4 / 3, 1.3333),
    ("huber with one outlier", lambda: L.huber([1.0, 2.0, 3.0], [1.0, 2.0, 7.0]), 3.5 / 3, 1.1667),
]


@pytest.mark.parametrize("compute, exact, rounded", [w[1:] for w in WORKED], ids=[w[0] for w in WORKED])
def test_lecture_numbers_recomputed(compute, exact, rounded):
    value = compute()
    assert value == pytest.approx(exact, rel=1e-12, abs=1e-15)
    assert abs(value - rounded) <= 5e-5  # the number as the notes round it (to 4 decimals)


def test_class_weights_give_the_weighted_mean():
    z = np.log([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    t = np.array([0, 1, 1])
    per_sample = -np.log([0.5, 0.1, 0.8])
    w = np.array([1.0, 4.0])
    expected = np.sum(w[t] * per_sample) / np.sum(w[t])
    assert L.cross_entropy(z, t, weight=w) == pytest.approx(expected, rel=1e-12)


def test_full_label_smoothing_compares_with_the_uniform_distribution():
    z = np.log([[0.5, 0.3, 0.2]])
    assert L.cross_entropy(z, [0], label_smoothing=1.0) == pytest.approx(-np.mean(np.log([0.5, 0.3, 0.2])))


# --------------------------------------------------------------------------- bad inputs

ERRORS = [
    (lambda: L.mse([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, "pred and target must have the same shape"),
    (lambda: L.mse("abc", [1.0]), TypeError, "pred must be an array of numbers"),
    (lambda: L.mae([1.0], None), TypeError, "target must be an array of numbers"),
    (lambda: L.mse([np.nan, 1.0], [1.0, 1.0]), ValueError, "pred must be finite, got nan at index (0,)"),
    (lambda: L.mse_grad([1.0, np.inf], [1.0, 1.0]), ValueError, "pred must be finite"),
    (lambda: L.mse([], []), ValueError, "pred must not be empty"),
    (lambda: L.huber([1.0], [2.0], delta=0.0), ValueError, "delta must be in (0.0, inf]"),
    (lambda: L.huber([1.0], [2.0], delta="1"), TypeError, "delta must be a real number"),
    (lambda: L.binary_cross_entropy([0.5, 1.5], [0.0, 1.0]), ValueError,
     "probs must contain probabilities in [0, 1], got 1.5 at index (1,)"),
    (lambda: L.binary_cross_entropy_grad([0.5], [-0.1]), ValueError,
     "target must contain probabilities in [0, 1]"),
    (lambda: L.binary_cross_entropy([0.5, 0.5], [1.0]), ValueError, "probs and target must have the same shape"),
    (lambda: L.binary_cross_entropy_with_logits([np.inf], [1.0]), ValueError, "logits must be finite"),
    (lambda: L.binary_cross_entropy_with_logits([2.0], [2.0]), ValueError, "target must contain probabilities"),
    (lambda: L.cross_entropy([1.0, 2.0, 3.0], [0]), ValueError, "logits must have shape (N, C) or (N, C, H, W)"),
    (lambda: L.cross_entropy(np.zeros((3, 3)), [0, 1, 5]), ValueError,
     "target must contain class indices in [0, 3), got 5 at index (2,)"),
    (lambda: L.cross_entropy(np.zeros((3, 3)), [0, -1, 2]), ValueError,
     "target must contain class indices in [0, 3), got -1 at index (1,)"),
    (lambda: L.cross_entropy_grad(np.zeros((1, 3, 2, 2)), np.array([[[0, 1], [3, 0]]])), ValueError,
     "got 3 at index (0, 1, 0)"),
    (lambda: L.cross_entropy(np.zeros((3, 3)), [0.0, 0.5, 1.0]), ValueError,
     "target must contain integer class indices, got 0.5 at index (1,)"),
    (lambda: L.cross_entropy(np.zeros((3, 3)), ["a", "b", "c"]), TypeError, "target must be an array of integer"),
    (lambda: L.cross_entropy(np.zeros((3, 3)), [True, False, True]), TypeError, "got dtype bool"),
    (lambda: L.cross_entropy(np.zeros((4, 3)), [0, 1, 2]), ValueError,
     "target must have shape (4,) to match logits (4, 3), got (3,)"),
    (lambda: L.cross_entropy(np.zeros((2, 3, 4, 5)), np.zeros((2, 5, 4), int)), ValueError,
     "target must have shape (2, 4, 5)"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 1], weight=[1.0, 2.0]), ValueError,
     "weight must have shape (3,), one weight per class, got (2,)"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 1], weight=[1.0, -2.0, 1.0]), ValueError,
     "weight must be non-negative, got -2.0 at index (1,)"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 0], weight=[0.0, 1.0, 1.0]), ValueError,
     "weighted mean is undefined"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=1.5), ValueError,
     "label_smoothing must be <= 1.0, got 1.5"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=-0.1), ValueError,
     "label_smoothing must be in [0.0, 1.0], got -0.1"),
    (lambda: L.categorical_cross_entropy([0.2, 0.8], [0.0, 1.0]), ValueError, "probs must be 2-D, got shape (2,)"),
    (lambda: L.categorical_cross_entropy([[0.2, 0.8]], [[1.0, 1.0]]), ValueError,
     "target must hold one distribution per row (each row summing to 1), got a sum of 2 in row 0"),
    (lambda: L.categorical_cross_entropy([[0.2, 1.8]], [[0.0, 1.0]]), ValueError,
     "probs must contain probabilities in [0, 1], got 1.8 at index (0, 1)"),
    (lambda: L.kl_divergence([[0.5, 0.5]], [[0.2, 0.3, 0.5]]), ValueError,
     "q_pred and p_true must have the same shape, got (1, 2) and (1, 3)"),
    (lambda: L.kl_divergence_grad([[0.5, 0.5]], [[0.2, 0.3]]), ValueError,
     "p_true must hold one distribution per row"),
    (lambda: L.kl_divergence([[-0.5, 1.5]], [[0.5, 0.5]]), ValueError,
     "q_pred must contain probabilities in [0, 1]"),
    (lambda: L.hinge([1.0, 2.0], [1.0, 0.0]), ValueError, "labels must contain only -1 and +1"),
    (lambda: L.hinge_grad([1.0, 2.0], [1.0, 0.0]), ValueError, "got 0.0 at index (1,)"),
    (lambda: L.multiclass_hinge(np.zeros((2, 3)), [0, 3]), ValueError,
     "labels must contain class indices in [0, 3), got 3 at index (1,)"),
    (lambda: L.multiclass_hinge(np.zeros(3), [0]), ValueError, "scores must be 2-D"),
    (lambda: L.multiclass_hinge(np.zeros((2, 3)), [0, 1], squared=1), TypeError, "squared must be True or False"),
    (lambda: L.margin_ranking([1.0], [2.0], [0.0]), ValueError, "y must contain only -1 and +1"),
    (lambda: L.margin_ranking_grad([1.0, 2.0], [2.0], [1.0, 1.0]), ValueError,
     "x1 and x2 must have the same shape"),
    (lambda: L.margin_ranking([1.0], [2.0], [1.0], margin=np.nan), ValueError, "margin must be finite"),
    (lambda: L.triplet_margin(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))), ValueError,
     "anchor and negative must have the same shape"),
    (lambda: L.triplet_margin_grad(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), np.zeros((2, 3, 1))), ValueError,
     "anchor must be 1-D or 2-D"),
    (lambda: L.contrastive([0.5, 1.0], [1.0, 2.0]), ValueError,
     "y_similar must contain only 0 (dissimilar pair) and 1"),
    (lambda: L.contrastive_grad([-0.5], [1.0]), ValueError,
     "distance must be non-negative, got -0.5 at index (0,)"),
    (lambda: L.contrastive([0.5], [1.0], margin=-1.0), ValueError, "margin must be in [0.0, inf], got -1.0"),
    (lambda: L.get_loss("softmax_cross_entropy"), ValueError, "loss must be one of"),
]


@pytest.mark.parametrize("call, exc, message", ERRORS, ids=[f"error-{i}" for i in range(len(ERRORS))])
def test_bad_inputs_raise_clear_errors(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


# --------------------------------------------------------------------------- reduction="mean" | "sum" | "none"

REDUCTION_CASES = [c for c in CASES if c.loss in ("mse", "mae", "huber", "categorical_cross_entropy")]


def _t_categorical_reduced(torch, F, p, y, reduction):
    """The torch reference of categorical_cross_entropy: per row, then reduced as ``reduction`` asks."""
    rows = -(y * torch.log(p).clamp(min=-100)).sum(1)
    return {"mean": rows.mean(), "sum": rows.sum(), "none": rows}[reduction]


_T_REDUCED = {"mse": "mse_loss", "mae": "l1_loss", "huber": "huber_loss"}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", REDUCTION_CASES, ids=[c.id for c in REDUCTION_CASES])
def test_reduction_matches_torch(case, reduction, torch):
    """Value and gradient for each ``reduction`` against torch's ``reduction=`` (the gradient of the summed
    loss for "none"). Fails if e.g. ``mse(..., reduction="sum")`` still divided by N, if "none" returned a
    float or the rows' sum, or if ``mse_grad(..., reduction="none")`` kept the 1/N of the mean."""
    import torch.nn.functional as F

    fn, grad_fn = LOSS_FUNCTIONS[case.loss]
    args, kw = case.make(np.random.default_rng(0))
    value, grad = fn(*args, **kw, reduction=reduction), grad_fn(*args, **kw, reduction=reduction)
    x, t = (torch.tensor(np.asarray(a, dtype=np.float64)) for a in args)
    x.requires_grad_(True)
    if case.loss == "categorical_cross_entropy":
        out = _t_categorical_reduced(torch, F, x, t, reduction)
    else:
        out = getattr(F, _T_REDUCED[case.loss])(x, t, reduction=reduction, **kw)
    out.sum().backward()
    if reduction == "none":
        assert isinstance(value, np.ndarray) and value.shape == tuple(out.shape)
    else:
        assert type(value) is float
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("case", REDUCTION_CASES, ids=[c.id for c in REDUCTION_CASES])
def test_reduction_mean_is_the_default_bit_for_bit(case):
    """``reduction="mean"`` is exactly the default (the labs' numbers rest on it); "none" averages to it.
    Fails if the default changed, or if "none" gave other terms than the mean averages."""
    fn, grad_fn = LOSS_FUNCTIONS[case.loss]
    args, kw = case.make(np.random.default_rng(1))
    assert fn(*args, **kw, reduction="mean") == fn(*args, **kw)
    assert np.array_equal(grad_fn(*args, **kw, reduction="mean"), grad_fn(*args, **kw))
    np.testing.assert_allclose(np.mean(fn(*args, **kw, reduction="none")), fn(*args, **kw), rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda: L.mse([1.0], [2.0], reduction="avg"),
    lambda: L.mae_grad([1.0], [2.0], reduction="batchmean"),
    lambda: L.huber([1.0], [2.0], 1.0, "Mean"),
    lambda: L.categorical_cross_entropy([[1.0]], [[1.0]], reduction=""),
], ids=["mse-avg", "mae_grad-batchmean", "huber-Mean", "categorical-empty"])
def test_unknown_reduction_is_a_value_error_naming_the_argument(call):
    """A reduction torch does not have ("avg", "batchmean", wrong case, "") is refused, naming ``reduction``."""
    with pytest.raises(ValueError, match=r"reduction must be one of \['mean', 'none', 'sum'\], got"):
        call()


def test_non_string_reduction_is_a_type_error():
    """``reduction=None`` or a bool (torch's old ``reduce=False``) is a TypeError naming ``reduction``."""
    for bad in (None, False):
        with pytest.raises(TypeError, match="reduction must be one of"):
            L.mse([1.0], [2.0], reduction=bad)


@pytest.mark.parametrize("shape, weighted, smoothing", [((32, 10), False, 0.0), ((3, 4, 2, 5), False, 0.0),
                                                        ((16, 5), True, 0.0), ((16, 5), False, 0.1)])
def test_cross_entropy_with_grad_is_the_two_functions_bit_for_bit(shape, weighted, smoothing):
    """train_step takes the loss and its gradient from one pass; they must be exactly the two public functions' values
    (the one-hot fast path included). Fails if the fast path sums in another order or forgets the 1/N."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        z = rng.normal(size=shape) * rng.choice([0.1, 1.0, 30.0])
        t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        w = rng.uniform(0.1, 2.0, shape[1]) if weighted else None
        value, grad = L.cross_entropy_with_grad(z, t, weight=w, label_smoothing=smoothing)
        assert value == L.cross_entropy(z, t, weight=w, label_smoothing=smoothing)
        np.testing.assert_array_equal(grad, L.cross_entropy_grad(z, t, weight=w, label_smoothing=smoothing))
