"""Input validation shared by every public entry point.

Each helper raises a ``TypeError`` or ``ValueError`` whose message names the
argument, says what was expected and what was received, so that a student sees
the cause of a mistake at the call that made it.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a float array (float64 unless ``dtype`` says otherwise), checking its type and dimensions."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: {exc}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape} ({arr.ndim}-D)")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds a NaN or an infinity (a silent NaN helps nobody)."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite, got {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}")


def check_shape(arr: np.ndarray, expected: tuple, name: str) -> None:
    """Check ``arr.shape`` against ``expected``; ``None`` in ``expected`` matches any size."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float_dtype(dtype, name: str = "dtype"):
    """``numpy.float32`` or ``numpy.float64`` (also given as a string or a torch dtype such as ``torch.float32``)."""
    if isinstance(dtype, (type, np.dtype)) and dtype in (np.float32, np.float64):
        return np.dtype(dtype).type
    text = str(dtype).removeprefix("torch.")
    if text in ("float32", "float64"):
        return np.dtype(text).type
    raise TypeError(f"{name} must be float32 or float64 (numpy or torch), got {dtype!r}")


def check_number(value, name: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """Check a real number, optionally within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high if high is not None else 'inf'}], got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(value, choices, name: str):
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def as_rng(rng) -> np.random.Generator:
    """Accept ``None``, an int seed or a ``Generator`` and return a ``Generator``."""
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def as_seed(rng, name: str = "rng") -> int | None:
    """Turn ``rng`` (``None``, an int seed or a ``Generator``) into an int seed, for code that needs one.

    Labs that cache their runs by seed, or derive several streams by arithmetic (``seed + 1``), take
    ``rng`` like every other function and call ``seed = as_seed(rng)`` first: an int comes back unchanged
    (so ``rng=0`` gives exactly the numbers the lab printed with ``seed=0``), ``None`` (fresh entropy) gives a
    fresh int, so that ``seed + 1`` works for every accepted value, and a ``Generator`` gives one int drawn from it
    (the same Generator state gives the same int, so a seeded Generator still reproduces a run).
    """
    if rng is None:
        return int(np.random.default_rng().integers(2**63 - 1))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    raise TypeError(f"{name} must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__} {rng!r}")
