"""Penalties, early stopping and resampling splits (dlcourse.regularization, Unit 4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient, rel_error
from dlcourse.layers.linear import Linear
from dlcourse.layers.activation import Activation
from dlcourse.layers.module import Sequential
from dlcourse.regularization.early_stopping import EarlyStopping
from dlcourse.regularization.penalties import (elastic_net_penalty, elastic_net_penalty_grad, l1_penalty,
                                               l1_penalty_grad, l2_penalty, l2_penalty_grad, named_parameters)
from dlcourse.regularization.splits import bootstrap_sample, kfold_indices, stratified_kfold_indices

pytestmark = pytest.mark.unit4

# ---------------------------------------------------------------------------------- penalties
# (name, penalty, gradient, extra kwargs, torch expression of the same penalty)
PENALTIES = [
    ("l1", l1_penalty, l1_penalty_grad, {}, lambda t, w, a: a * w.abs().sum()),
    ("l2", l2_penalty, l2_penalty_grad, {}, lambda t, w, a: 0.5 * a * (w**2).sum()),
    ("elastic_net", elastic_net_penalty, elastic_net_penalty_grad, {"l1_ratio": 0.3},
     lambda t, w, a: a * (0.3 * w.abs().sum() + 0.35 * (w**2).sum())),
]
IDS = [p[0] for p in PENALTIES]


def _weights(rng):
    return {"weight": rng.uniform(0.1, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4)), "bias": rng.normal(size=3)}


def test_penalties_hand_computed():
    w = {"weight": np.array([[1.0, -2.0], [3.0, 0.0]]), "bias": np.array([5.0, 5.0])}
    assert l1_penalty(w, 0.1) == pytest.approx(0.1 * 6)
    assert l2_penalty(w, 0.1) == pytest.approx(0.05 * 14)
    assert elastic_net_penalty(w, 0.1, l1_ratio=0.5) == pytest.approx(0.1 * (0.5 * 6 + 0.25 * 14))
    np.testing.assert_array_equal(l1_penalty_grad(w, 0.1)["weight"], [[0.1, -0.1], [0.1, 0.0]])
    np.testing.assert_array_equal(l2_penalty_grad(w, 0.1)["bias"], [0.0, 0.0])


@pytest.mark.parametrize("name, penalty, grad, kw, torch_expr", PENALTIES, ids=IDS)
def test_penalty_gradients_match_finite_differences(rng, name, penalty, grad, kw, torch_expr):
    w = _weights(rng)["weight"]  # away from 0, where |w| has a kink
    numeric = numerical_gradient(lambda z: penalty(z, 0.7, **kw), w)
    assert rel_error(grad(w, 0.7, **kw), numeric) < 1e-8


@pytest.mark.parametrize("name, penalty, grad, kw, torch_expr", PENALTIES, ids=IDS)
def test_penalties_match_torch_autograd(torch, rng, name, penalty, grad, kw, torch_expr):
    w = _weights(rng)["weight"]
    tw = torch.tensor(w, requires_grad=True)
    value = torch_expr(torch, tw, 0.25)
    value.backward()
    assert penalty(w, 0.25, **kw) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(grad(w, 0.25, **kw), tw.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name, penalty, grad, kw, torch_expr", PENALTIES, ids=IDS)
def test_penalties_skip_biases(rng, name, penalty, grad, kw, torch_expr):
    w = _weights(rng)
    assert penalty(w, 0.5, **kw) == pytest.approx(penalty(w["weight"], 0.5, **kw))
    w2 = {"weight": w["weight"], "bias": w["bias"] * 100}
    assert penalty(w2, 0.5, **kw) == penalty(w, 0.5, **kw)
    g = grad(w, 0.5, **kw)
    assert set(g) == {"weight", "bias"}
    np.testing.assert_array_equal(g["bias"], 0.0)
    np.testing.assert_array_equal(g["weight"], grad(w["weight"], 0.5, **kw))


def test_penalties_take_modules_with_torch_style_names(rng):
    net = Sequential(Linear(3, 4, rng=0), Activation("relu"), Linear(4, 2, rng=1))
    names = named_parameters(net)
    assert list(names) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    expected = 0.5 * 0.1 * (np.sum(net[0].weight**2) + np.sum(net[2].weight**2))
    assert l2_penalty(net, 0.1) == pytest.approx(expected)
    g = l2_penalty_grad(net, 0.1)
    np.testing.assert_allclose(g["2.weight"], 0.1 * net[2].weight)
    np.testing.assert_array_equal(g["0.bias"], 0.0)
    assert l1_penalty(net[0], 1.0) == pytest.approx(np.abs(net[0].weight).sum())


def test_l2_penalty_gradient_equals_torch_sgd_weight_decay(torch, rng):
    w0, c, lam, lr = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), 0.3, 0.1
    tw = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([tw], lr=lr, weight_decay=lam)
    (tw * torch.tensor(c)).sum().backward()  # data loss <c, w>, gradient c
    opt.step()
    ours = w0 - lr * (c + l2_penalty_grad(w0, lam))
    np.testing.assert_allclose(ours, tw.detach().numpy(), rtol=0, atol=1e-15)


def test_elastic_net_limits_are_l1_and_l2(rng):
    w = _weights(rng)
    assert elastic_net_penalty(w, 0.4, l1_ratio=1.0) == pytest.approx(l1_penalty(w, 0.4))
    assert elastic_net_penalty(w, 0.4, l1_ratio=0.0) == pytest.approx(l2_penalty(w, 0.4))


@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(0, 10), seed=st.integers(0, 2**16), scale=st.floats(1e-6, 1e6))
def test_penalties_are_nonnegative_and_finite(alpha, seed, scale):
    w = np.random.default_rng(seed).normal(size=(4, 3)) * scale
    for f in (l1_penalty, l2_penalty, elastic_net_penalty):
        value = f(w, alpha)
        assert np.isfinite(value) and value >= 0.0


@pytest.mark.parametrize("call, exc, match", [
    (lambda: l2_penalty(np.ones(3), -0.1), ValueError, r"alpha must be in \[0.0"),
    (lambda: l1_penalty(np.ones(3), "a"), TypeError, "alpha must be a real number"),
    (lambda: elastic_net_penalty(np.ones(3), 0.1, l1_ratio=1.5), ValueError, "l1_ratio must be <= 1.0"),
    (lambda: l2_penalty([np.ones(3), np.ones(2)], 0.1), TypeError, "got a list"),
    (lambda: l2_penalty({0: np.ones(3)}, 0.1), TypeError, "keyed by parameter names"),
    (lambda: l2_penalty_grad("w", 0.1), TypeError, "weights must be an array of numbers"),
])
def test_penalties_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- early stopping
# (values, patience, min_delta, mode, index of the first step returning True or None, best epoch)
STOPPING_CASES = [
    ([5, 4, 4, 4, 3], 2, 0.0, "min", 3, 1),
    ([5, 4, 4.5, 3, 3.5, 3.2, 3.1], 3, 0.0, "min", 6, 3),
    ([1.0, 0.95, 0.92, 0.85], 2, 0.1, "min", 2, 0),      # 0.95 and 0.92 are not 0.1 better
    ([1.0, 0.95, 0.85, 0.8], 2, 0.1, "min", None, 2),
    ([0.5, 0.6, 0.6, 0.7, 0.7, 0.7], 2, 0.0, "max", 5, 3),
    ([3, float("nan"), float("nan")], 2, 0.0, "min", 2, 0),  # NaN never improves
    ([3, 2, 1, 0], 1, 0.0, "min", None, 3),
]


@pytest.mark.parametrize("values, patience, min_delta, mode, stop_at, best_epoch", STOPPING_CASES)
def test_early_stopping_counts_patience(values, patience, min_delta, mode, stop_at, best_epoch):
    es = EarlyStopping(patience, min_delta=min_delta, mode=mode)
    first = None
    for epoch, v in enumerate(values):  # a training loop stops at the first True
        if es.step(v):
            first = epoch
            break
    assert first == stop_at and es.should_stop == (stop_at is not None)
    assert es.epoch == (len(values) if stop_at is None else stop_at + 1)
    assert es.best_epoch == best_epoch
    assert es.best == values[best_epoch]


def test_early_stopping_restores_best_weights_in_place():
    params = {"weight": np.zeros((2, 2)), "bias": np.zeros(2)}
    es = EarlyStopping(patience=2)
    for epoch, loss in enumerate([3.0, 1.0, 2.0, 2.5]):
        params["weight"][...] = epoch  # training changes the weights in place
        params["bias"][...] = -epoch
        stop = es.step(loss, params)
    assert stop
    np.testing.assert_array_equal(params["weight"], 1.0)
    np.testing.assert_array_equal(params["bias"], -1.0)


def test_early_stopping_without_restore_keeps_last_weights_until_asked():
    layer = Linear(3, 2, rng=0)
    es = EarlyStopping(patience=1, restore_best=False)
    es.step(1.0, layer)
    best = layer.weight.copy()
    layer.weight[...] += 1.0
    assert es.step(2.0, layer)
    np.testing.assert_array_equal(layer.weight, best + 1.0)
    es.restore(layer)
    np.testing.assert_array_equal(layer.weight, best)


def test_early_stopping_copies_are_not_views():
    w = [np.ones(3)]
    es = EarlyStopping(patience=5)
    es.step(0.0, w)
    w[0][...] = 7.0
    es.restore(w)
    np.testing.assert_array_equal(w[0], 1.0)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: EarlyStopping(0), ValueError, "patience must be >= 1"),
    (lambda: EarlyStopping(2, mode="avg"), ValueError, r"mode must be one of \['max', 'min'\]"),
    (lambda: EarlyStopping(2, min_delta=-1), ValueError, "min_delta must be in"),
    (lambda: EarlyStopping(2).step("0.3"), TypeError, "value must be a real number"),
    (lambda: EarlyStopping(2).step(0.3, params=3), TypeError, "params must be a dlcourse Module"),
    (lambda: EarlyStopping(2).restore([np.ones(2)]), RuntimeError, "no best parameters"),
])
def test_early_stopping_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_early_stopping_restore_rejects_other_shapes():
    es = EarlyStopping(2)
    es.step(1.0, [np.ones(3)])
    with pytest.raises(ValueError, match=r"params item 0 must have shape \(3,\), got \(4,\)"):
        es.restore([np.ones(4)])


# ------------------------------------------------------------------------------------- splits
def _check_partition(folds, n):
    vals = np.concatenate([f.val for f in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(n))  # every index validated exactly once
    for f in folds:
        assert len(np.intersect1d(f.train, f.val)) == 0
        np.testing.assert_array_equal(np.union1d(f.train, f.val), np.arange(n))
    sizes = [len(f.val) for f in folds]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("n, k", [(10, 3), (12, 4), (7, 7), (100, 5)])
def test_kfold_matches_sklearn_without_shuffle(n, k):
    from sklearn.model_selection import KFold

    folds = kfold_indices(n, k)
    _check_partition(folds, n)
    for ours, (tr, va) in zip(folds, KFold(k).split(np.zeros(n))):
        np.testing.assert_array_equal(ours.train, tr)
        np.testing.assert_array_equal(ours.val, va)


def test_kfold_shuffle_is_seeded():
    a, b, c = (kfold_indices(20, 4, shuffle=True, rng=s) for s in (1, 1, 2))
    _check_partition(a, 20)
    assert all(np.array_equal(x.val, y.val) for x, y in zip(a, b))
    assert not all(np.array_equal(x.val, y.val) for x, y in zip(a, c))


@settings(max_examples=50, deadline=None)
@given(labels=st.lists(st.integers(0, 3), min_size=6, max_size=60), k=st.integers(2, 6), seed=st.integers(0, 99))
def test_stratified_folds_keep_class_proportions_within_one_sample(labels, k, seed):
    y = np.array(labels)
    k = min(k, len(y))
    folds = stratified_kfold_indices(y, k, rng=seed)
    _check_partition(folds, len(y))
    for c in np.unique(y):
        counts = [np.sum(y[f.val] == c) for f in folds]
        expected = np.sum(y == c) / k
        assert all(abs(cnt - expected) < 1 for cnt in counts)


def test_stratified_folds_on_imbalanced_labels():
    y = np.array([0] * 90 + [1] * 10)
    for f in stratified_kfold_indices(y, 5, rng=0):
        assert np.sum(y[f.val] == 1) == 2 and np.sum(y[f.val] == 0) == 18


def test_stratified_folds_with_string_labels_and_no_shuffle():
    y = np.array(["cat", "dog", "cat", "dog", "cat", "dog"])
    folds = stratified_kfold_indices(y, 3, shuffle=False)
    for f in folds:
        assert sorted(y[f.val]) == ["cat", "dog"]


def test_bootstrap_sample_draws_with_replacement_and_leaves_out_a_third():
    s = bootstrap_sample(100_000, rng=0)
    assert s.indices.shape == (100_000,) and s.indices.min() >= 0 and s.indices.max() < 100_000
    assert abs(len(s.out_of_bag) / 100_000 - np.exp(-1)) < 0.005
    assert len(np.intersect1d(s.indices, s.out_of_bag)) == 0
    np.testing.assert_array_equal(bootstrap_sample(50, rng=3).indices, bootstrap_sample(50, rng=3).indices)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: kfold_indices(5, 6), ValueError, r"k must be at most the number of samples n = 5 .* got k = 6"),
    (lambda: kfold_indices(5, 1), ValueError, "k must be >= 2"),
    (lambda: kfold_indices(5.0, 2), TypeError, "n must be an integer"),
    (lambda: stratified_kfold_indices([0, 1, 0], 4), ValueError, "k must be at most the number of samples n = 3"),
    (lambda: stratified_kfold_indices(np.zeros((4, 2)), 2), ValueError, r"y must be a 1-D array"),
    (lambda: bootstrap_sample(0), ValueError, "n must be >= 1"),
    (lambda: bootstrap_sample(5, rng="x"), TypeError, "rng must be None, an int seed"),
])
def test_splits_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
