r"""Data augmentation for small grayscale images such as the 8×8 digits (Unit 4, "Data augmentation").

Each transform takes one image, either ``(H, W)`` or flattened ``(H·W,)`` (then
``image_shape`` gives ``(H, W)``, default ``(8, 8)``), and returns a new array of the
same shape; pixels moved in from outside the image are 0 (the digits' background).
:func:`augment_batch` applies random transforms to every row of a batch from a seed.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._validate import as_float_array, as_rng, check_number

__all__ = ["rotate", "translate", "hflip", "gaussian_noise", "augment_batch"]


def _as_image(image, image_shape) -> tuple[np.ndarray, tuple]:
    """The image as (H, W), and the shape to give the result back in."""
    img = as_float_array(image, "image")
    if img.ndim == 2:
        return img, img.shape
    if img.ndim == 1:
        h, w = image_shape
        if img.size != h * w:
            raise ValueError(f"a flat image must have image_shape {tuple(image_shape)} = {h * w} pixels, "
                             f"got {img.size}; pass image_shape=(H, W)")
        return img.reshape(h, w), img.shape
    raise ValueError(f"image must be 2-D (H, W) or flat (H*W,), got shape {img.shape}; "
                     "for a batch use augment_batch")


def rotate(image, degrees: float, image_shape=(8, 8)) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the centre (bilinear, same size)."""
    img, shape = _as_image(image, image_shape)
    degrees = check_number(degrees, "degrees")
    out = ndimage.rotate(img, degrees, reshape=False, order=1, mode="constant", cval=0.0)
    return out.reshape(shape)


def translate(image, dx: float, dy: float, image_shape=(8, 8)) -> np.ndarray:
    """Shift right by ``dx`` and down by ``dy`` pixels (bilinear for fractions, exact for integers)."""
    img, shape = _as_image(image, image_shape)
    dx, dy = check_number(dx, "dx"), check_number(dy, "dy")
    out = ndimage.shift(img, (dy, dx), order=1, mode="constant", cval=0.0)
    return out.reshape(shape)


def hflip(image, image_shape=(8, 8)) -> np.ndarray:
    """Mirror left-right. Beware: a mirrored digit is often not the same digit."""
    img, shape = _as_image(image, image_shape)
    return img[:, ::-1].reshape(shape).copy()


def gaussian_noise(image, std: float, rng=None) -> np.ndarray:
    r"""Add independent :math:`\mathcal{N}(0, \text{std}^2)` noise to every pixel."""
    img = as_float_array(image, "image")
    std = check_number(std, "std", low=0.0)
    return img + as_rng(rng).normal(0.0, std, img.shape)


def augment_batch(X, rng=None, degrees: float = 10.0, shift: int = 1, flip_prob: float = 0.0,
                  noise_std: float = 0.0, image_shape=(8, 8), clip=None) -> np.ndarray:
    r"""Randomly transformed copies of a batch of images, reproducible from ``rng``.

    For every image independently: rotate by an angle uniform in ``[-degrees, degrees]``,
    translate by whole pixels ``dx, dy`` uniform in ``{-shift, ..., shift}``, flip with
    probability ``flip_prob``, then add Gaussian noise of ``noise_std``.

    Parameters
    ----------
    X : array (N, H·W) or (N, H, W)
        The batch, e.g. ``load_digits().X`` (N, 64).
    rng : None, int or numpy.random.Generator
        Seed for the random transforms (same seed, same batch).
    clip : None or (low, high)
        Clip the result, e.g. ``(0, 1)`` to keep scaled pixels in range after noise.

    Returns
    -------
    array of ``X``'s shape. The labels are unchanged (flips aside, the transforms
    preserve a digit's identity; that is the prior augmentation encodes).

    Notes
    -----
    The 8×8 digits reach the edge of their frame (about a tenth of the ink is in the top
    row), so a rotation of up to 10° and a one-pixel shift cut off about 15% of the ink
    (median). Keep ``degrees`` and ``shift`` small on images this small.
    """
    X = as_float_array(X, "X", ndim=(2, 3))
    degrees = check_number(degrees, "degrees", low=0.0)
    shift = int(check_number(shift, "shift", low=0.0))
    flip_prob = check_number(flip_prob, "flip_prob", low=0.0, high=1.0)
    noise_std = check_number(noise_std, "noise_std", low=0.0)
    rng = as_rng(rng)
    out = np.empty_like(X)
    for i, img in enumerate(X):
        a = rotate(img, rng.uniform(-degrees, degrees), image_shape) if degrees > 0 else img
        dx, dy = rng.integers(-shift, shift + 1, size=2)
        a = translate(a, int(dx), int(dy), image_shape)
        if rng.random() < flip_prob:
            a = hflip(a, image_shape)
        out[i] = a
    if noise_std > 0:
        out = gaussian_noise(out, noise_std, rng)
    return out if clip is None else np.clip(out, clip[0], clip[1])
