"""Plain-data messages between the grader and the sandboxed runner: JSON only, never pickle.

Arrays travel as ``{"__array__": nested lists, "dtype": "float64"}``; only numbers, strings,
booleans, lists and dicts cross the boundary.
"""

from __future__ import annotations

import json
import math

import numpy as np


def encode(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"only numeric arrays cross the sandbox boundary, got dtype {obj.dtype}")
        return {"__array__": _clean(obj.tolist()), "dtype": str(obj.dtype)}
    if isinstance(obj, (np.floating, float)):
        return _clean(float(obj))
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, str) or obj is None:
        return obj
    raise TypeError(f"cannot send a {type(obj).__name__} across the sandbox boundary")


def _clean(x):
    """JSON has no NaN or infinity: send them as strings."""
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def decode(obj):
    if isinstance(obj, dict):
        if "__array__" in obj:
            dtype = obj.get("dtype", "float64")
            if np.dtype(dtype).kind not in "biuf":
                raise ValueError(f"unexpected dtype {dtype!r}")
            return np.array(_unclean(obj["__array__"]), dtype=dtype)
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def _unclean(x):
    if isinstance(x, list):
        return [_unclean(v) for v in x]
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    return x


def dumps(obj) -> str:
    return json.dumps(encode(obj), allow_nan=False)


def loads(text: str):
    return decode(json.loads(text))
