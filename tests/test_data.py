"""Tests for dlcourse.data: toy data sets, digits and the train/test split."""

import numpy as np
import pytest

from dlcourse import data as D

pytestmark = pytest.mark.unit1

CENTERS_3D = ((0, 0, 0), (2, 0, 0), (0, 2, 0))

# name, generator, keyword arguments, number of features, label set
TOY_CASES = [
    ("moons", D.make_moons, {}, 2, {0, 1}),
    ("circles", D.make_circles, {}, 2, {0, 1}),
    ("xor", D.make_xor, {}, 2, {0, 1}),
    ("spirals", D.make_spirals, {}, 2, {0, 1}),
    ("blobs", D.make_blobs, {}, 2, {0, 1}),
    ("blobs_3d", D.make_blobs, {"centers": CENTERS_3D}, 3, {0, 1, 2}),
]
IDS = [c[0] for c in TOY_CASES]


@pytest.mark.parametrize("name, make, kw, n_features, labels", TOY_CASES, ids=IDS)
@pytest.mark.parametrize("n", [200, 61])
def test_toy_shapes_dtypes_and_labels(name, make, kw, n_features, labels, n):
    X, y = make(n_samples=n, **kw)
    assert X.shape == (n, n_features) and X.dtype == np.float64
    assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == labels
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # balanced classes
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name, make, kw, n_features, labels", TOY_CASES, ids=IDS)
def test_toy_is_deterministic_for_a_seed(name, make, kw, n_features, labels):
    a, b, c = make(rng=7, **kw), make(rng=7, **kw), make(rng=8, **kw)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    g = make(rng=np.random.default_rng(7), **kw)  # a Generator works like its seed
    np.testing.assert_array_equal(a.X, g.X)
    assert isinstance(a, D.Dataset) and a._fields == ("X", "y")


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = D.make_moons(n_samples=100, noise=0.0)
    r0 = np.hypot(X[y == 0, 0] + 0.5, X[y == 0, 1] + 0.25)
    r1 = np.hypot(X[y == 1, 0] - 0.5, X[y == 1, 1] - 0.25)
    np.testing.assert_allclose(r0, 1.0, rtol=1e-12)
    np.testing.assert_allclose(r1, 1.0, rtol=1e-12)
    assert np.all(X[y == 0, 1] >= -0.25 - 1e-12) and np.all(X[y == 1, 1] <= 0.25 + 1e-12)


def test_circles_without_noise_have_radii_one_and_factor():
    X, y = D.make_circles(n_samples=100, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-12)


def test_xor_without_noise_sits_on_the_corners():
    X, y = D.make_xor(n_samples=40, noise=0.0)
    np.testing.assert_allclose(np.abs(X), 0.6)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))


def test_spirals_without_noise_stay_in_the_annulus():
    X, _ = D.make_spirals(n_samples=100, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() == pytest.approx(0.1) and r.max() == pytest.approx(1.0)


def test_blobs_without_spread_are_the_centres():
    X, y = D.make_blobs(n_samples=30, centers=CENTERS_3D, std=0.0)
    np.testing.assert_array_equal(X, np.asarray(CENTERS_3D, float)[y])


@pytest.mark.parametrize("name", sorted(D.TOY_DATASETS))
def test_make_toy_dispatches_by_name(name):
    a = D.make_toy(name, n_samples=50, rng=3)
    b = D.TOY_DATASETS[name](n_samples=50, rng=3)
    np.testing.assert_array_equal(a.X, b.X)
    c = D.make_toy(name, n_samples=50, noise=0.0, rng=3)
    np.testing.assert_array_equal(c.X, D.TOY_DATASETS[name](n_samples=50, noise=0.0, rng=3).X)


def test_load_digits():
    X, y = D.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    raw, _ = D.load_digits(scale=False)
    np.testing.assert_array_equal(raw / 16.0, X)
    X2, y2 = D.load_digits(n_class=2)
    assert set(np.unique(y2)) == {0, 1} and X2.shape[1] == 64 and len(X2) == np.sum(y <= 1)


def test_train_test_split():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    X_tr, X_te, y_tr, y_te = D.train_test_split(X, y, test_size=0.25, rng=1)
    assert (len(X_tr), len(X_te)) == (15, 5)
    np.testing.assert_array_equal(X_tr[:, 0] / 2, y_tr)  # rows stay paired
    np.testing.assert_array_equal(np.sort(np.r_[y_tr, y_te]), y)
    again = D.train_test_split(X, y, test_size=0.25, rng=1)
    np.testing.assert_array_equal(again[3], y_te)
    assert len(D.train_test_split(X, y, test_size=0.01)[1]) == 1  # at least one test sample


BAD_INPUT = [
    ("moons_one_sample", lambda: D.make_moons(n_samples=1), ValueError, r"^n_samples must be >= 2"),
    ("moons_float_samples", lambda: D.make_moons(n_samples=2.5), TypeError, r"^n_samples must be an integer"),
    ("moons_negative_noise", lambda: D.make_moons(noise=-0.1), ValueError, r"^noise"),
    ("moons_str_noise", lambda: D.make_moons(noise="low"), TypeError, r"^noise"),
    ("moons_bad_seed", lambda: D.make_moons(rng="a"), TypeError, r"int seed"),
    ("circles_factor_zero", lambda: D.make_circles(factor=0.0), ValueError, r"^factor"),
    ("circles_factor_big", lambda: D.make_circles(factor=1.5), ValueError, r"^factor"),
    ("xor_three_samples", lambda: D.make_xor(n_samples=3), ValueError, r"^n_samples must be >= 4"),
    ("spirals_turns_zero", lambda: D.make_spirals(turns=0), ValueError, r"^turns"),
    ("spirals_noise_nan", lambda: D.make_spirals(noise=float("nan")), ValueError, r"^noise must be finite"),
    ("blobs_centers_1d", lambda: D.make_blobs(centers=[1.0, 2.0]), ValueError, r"^centers must be a 2-D"),
    ("blobs_no_centers", lambda: D.make_blobs(centers=np.zeros((0, 2))), ValueError, r"^centers"),
    ("blobs_negative_std", lambda: D.make_blobs(std=-1.0), ValueError, r"^std"),
    ("blobs_zero_samples", lambda: D.make_blobs(n_samples=0), ValueError, r"^n_samples"),
    ("toy_unknown", lambda: D.make_toy("swiss_roll"), ValueError, r"^name must be one of.*swiss_roll"),
    ("digits_zero_classes", lambda: D.load_digits(n_class=0), ValueError, r"^n_class"),
    ("digits_eleven_classes", lambda: D.load_digits(n_class=11), ValueError, r"^n_class must be between"),
    ("split_lengths", lambda: D.train_test_split(np.ones((4, 2)), np.ones(3)), ValueError, r"same length"),
    ("split_size_zero", lambda: D.train_test_split(np.ones((4, 2)), np.ones(4), test_size=0.0), ValueError,
     r"^test_size"),
    ("split_size_above_one", lambda: D.train_test_split(np.ones((4, 2)), np.ones(4), test_size=1.5), ValueError,
     r"^test_size"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_raises(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
