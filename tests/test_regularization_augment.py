"""Image augmentation for 8×8 digits (dlcourse.regularization.augment, Unit 4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.data import load_digits
from dlcourse.regularization.augment import augment_batch, gaussian_noise, hflip, rotate, translate

pytestmark = pytest.mark.unit4


@pytest.fixture(scope="module")
def digits():
    return load_digits().X[:50]


def test_rotate_by_90_degrees_is_rot90(rng):
    img = rng.uniform(size=(8, 8))
    np.testing.assert_allclose(rotate(img, 90), np.rot90(img), atol=1e-12)
    np.testing.assert_allclose(rotate(img, 0), img, atol=1e-12)
    np.testing.assert_allclose(rotate(img.ravel(), 180), np.rot90(img, 2).ravel(), atol=1e-12)


def test_translate_by_whole_pixels_shifts_and_fills_with_zeros(rng):
    img = rng.uniform(size=(8, 8))
    right_down = translate(img, 2, 1)
    np.testing.assert_allclose(right_down[1:, 2:], img[:-1, :-2], atol=1e-12)
    np.testing.assert_array_equal(right_down[0, :], 0.0)
    np.testing.assert_array_equal(right_down[:, :2], 0.0)
    np.testing.assert_allclose(translate(img.ravel(), -1, 0).reshape(8, 8)[:, :-1], img[:, 1:], atol=1e-12)


def test_hflip_twice_is_identity_and_mirrors_columns(rng):
    img = rng.uniform(size=(8, 8))
    np.testing.assert_array_equal(hflip(img)[:, 0], img[:, 7])
    np.testing.assert_array_equal(hflip(hflip(img.ravel())), img.ravel())


def test_gaussian_noise_has_the_requested_std():
    noisy = gaussian_noise(np.zeros((100, 64)), 0.2, rng=0)
    assert abs(noisy.std() - 0.2) < 0.005 and abs(noisy.mean()) < 0.005


def test_augment_batch_is_reproducible_and_keeps_shape(digits):
    a = augment_batch(digits, rng=0, noise_std=0.05)
    np.testing.assert_array_equal(a, augment_batch(digits, rng=0, noise_std=0.05))
    assert a.shape == digits.shape
    assert not np.array_equal(a, augment_batch(digits, rng=1, noise_std=0.05))
    b = augment_batch(digits.reshape(-1, 8, 8), rng=0, noise_std=0.05)
    np.testing.assert_allclose(b.reshape(-1, 64), a, atol=1e-12)


def test_augment_batch_with_no_transforms_is_identity(digits):
    np.testing.assert_array_equal(augment_batch(digits, rng=0, degrees=0, shift=0), digits)


def test_augment_batch_changes_images_but_keeps_their_ink(digits):
    a = augment_batch(digits, rng=0, degrees=10, shift=1)
    assert np.mean(np.abs(a - digits)) > 0.05
    ink_ratio = a.sum(axis=1) / digits.sum(axis=1)  # the digits touch the frame: some ink is cut off
    assert 0.75 < np.median(ink_ratio) < 1.0
    shifted = augment_batch(digits, rng=0, degrees=0, shift=1)
    assert np.median(shifted.sum(axis=1) / digits.sum(axis=1)) > 0.85


def test_augment_batch_flips_and_clips(digits):
    flipped = augment_batch(digits, rng=0, degrees=0, shift=0, flip_prob=1.0)
    np.testing.assert_array_equal(flipped.reshape(-1, 8, 8), digits.reshape(-1, 8, 8)[:, :, ::-1])
    clipped = augment_batch(digits, rng=0, noise_std=0.5, clip=(0.0, 1.0))
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0


@settings(max_examples=25, deadline=None)
@given(degrees=st.floats(-180, 180), dx=st.integers(-3, 3), dy=st.integers(-3, 3), seed=st.integers(0, 999))
def test_rotate_and_translate_stay_in_the_pixel_range(degrees, dx, dy, seed):
    img = np.random.default_rng(seed).uniform(size=64)
    out = translate(rotate(img, degrees), dx, dy)
    assert out.shape == (64,) and np.all(np.isfinite(out))
    assert out.min() >= -1e-12 and out.max() <= img.max() + 1e-12  # bilinear interpolation cannot overshoot


@pytest.mark.parametrize("call, exc, match", [
    (lambda: rotate(np.ones(10), 5), ValueError, r"image_shape \(8, 8\) = 64 pixels, got 10"),
    (lambda: rotate(np.ones((2, 8, 8)), 5), ValueError, "for a batch use augment_batch"),
    (lambda: rotate(np.ones((8, 8)), "5"), TypeError, "degrees must be a real number"),
    (lambda: translate(np.ones((8, 8)), 1, None), TypeError, "dy must be a real number"),
    (lambda: gaussian_noise(np.ones(4), -1.0), ValueError, "std must be in"),
    (lambda: augment_batch(np.ones(64)), ValueError, "X must be 2-D or 3-D"),
    (lambda: augment_batch(np.ones((2, 64)), flip_prob=2), ValueError, "flip_prob must be <= 1"),
    (lambda: augment_batch(np.ones((2, 64)), degrees=-5), ValueError, "degrees must be in"),
])
def test_augment_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
