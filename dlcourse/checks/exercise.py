"""The exercise format every unit uses, and the check that gives feedback.

An :class:`Exercise` says how to make fresh random test cases, how to run a
function on one case (the *adapter*, which turns whatever the function returns
into a dict of plain arrays) and which reference function is right. The check
runs the student's function and the reference on the same cases and reports
the first thing that is wrong: which output, which element, expected vs
received, and a hint. A stub that still raises ``NotImplementedError`` is
reported as *not attempted*, never as wrong.

The grader (``dlcourse.grading``) reuses the same pieces: it runs the adapter on
the student's function inside a sandbox and compares outside, in trusted code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

PASSED, WRONG, NOT_ATTEMPTED, ERROR = "passed", "wrong", "not attempted", "error"


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id (``"1.3"``), the function the student writes, how to check it."""

    id: str
    name: str
    title: str
    reference: Callable
    cases: Callable[[np.random.Generator], list[dict]]
    run: Callable[[Callable, dict], dict] = None
    hint: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    # Dotted names the student's function must not call when graded (the reference itself by default,
    # see dlcourse.grading); e.g. ("dlcourse.activations.sigmoid",).
    forbidden: tuple = ()
    # Names of the values a function returns as a tuple, e.g. ("w_new", "v_new"): the check then says which
    # one is wrong, and that a tuple of the wrong length was returned.
    outputs: tuple = ()
    unit: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "unit", int(self.id.split(".")[0]))
        if self.run is None:
            object.__setattr__(self, "run", call_with_kwargs)


def call_with_kwargs(fn: Callable, case: dict) -> dict:
    """Default adapter: ``fn(**case)`` on copies of the case's arrays."""
    return fn(**{k: _copy(v) for k, v in case.items()})


class BadReturn(ValueError):
    """What the student's function returned cannot be checked: wrong type, length or shape (raised by adapters)."""


def as_outputs(out: Any, names: tuple = ()) -> dict:
    """Whatever a function returned, as named float arrays.

    A tuple gives ``output 0, output 1, ...``, or the exercise's ``names`` for them; with ``names``, a tuple of
    another length, or no tuple, is a :class:`BadReturn`.
    """
    if out is None:
        raise BadReturn("must return a value, got None (is the `return` line missing?)")
    if names and not isinstance(out, dict):
        want = f"must return a tuple ({', '.join(names)})"
        if not isinstance(out, (tuple, list)):
            raise BadReturn(f"{want}, got {type(out).__name__}")
        if len(out) != len(names):
            raise BadReturn(f"{want}, got a {type(out).__name__} of {len(out)} values")
        out = dict(zip(names, out))
    try:
        if isinstance(out, dict):
            return {str(k): np.asarray(v, dtype=np.float64) for k, v in out.items()}
        if isinstance(out, tuple):
            return {f"output {i}": np.asarray(v, dtype=np.float64) for i, v in enumerate(out)}
        return {"output": np.asarray(out, dtype=np.float64)}
    except (TypeError, ValueError) as exc:   # a string, a ragged list, ...
        raise BadReturn(f"must return arrays of numbers, got something else ({type(exc).__name__}: {exc})") from None


def _copy(v):
    return v.copy() if isinstance(v, np.ndarray) else v


@dataclass
class Result:
    """The outcome of checking one exercise; shows itself as one clear message."""

    exercise: Exercise
    status: str
    message: str
    cases_passed: int = 0
    cases_total: int = 0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        icon = {PASSED: "✅", WRONG: "❌", NOT_ATTEMPTED: "⏳", ERROR: "💥"}[self.status]
        return f"{icon} Exercise {self.exercise.id} ({self.exercise.title}): {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", WRONG: "#b35900", NOT_ATTEMPTED: "#555555", ERROR: "#b35900"}[self.status]
        text = str(self).replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        return f'<div style="border-left:4px solid {colour};padding:4px 8px">{text}</div>'


def compare_outputs(expected: dict, got: dict, rtol: float, atol: float) -> str | None:
    """Return a sentence describing the first difference, or ``None`` if all match."""
    for key, exp in expected.items():
        if key not in got:
            return f"{key} is missing: expected {len(expected)} output(s), got {len(got)}"
        rec = got[key]
        if rec.shape != exp.shape:
            return f"{key} has shape {rec.shape}, expected {exp.shape}"
        if not np.all(np.isfinite(rec)) and np.all(np.isfinite(exp)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(rec))[0])
            return f"{key}{_where(idx)} is {rec[idx]} (not finite), expected {exp[idx]:.6g}"
        bad = ~np.isclose(rec, exp, rtol=rtol, atol=atol)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return f"{key}{_where(idx)} is {rec[idx]:.6g}, expected {exp[idx]:.6g}" + _pattern(rec, exp)
    return None


def _pattern(rec: np.ndarray, exp: np.ndarray) -> str:
    """Name a systematic error: every value off by the same factor, or the sign flipped."""
    nonzero = np.abs(exp) > 1e-12
    if rec.size < 2 or nonzero.sum() < 2 or not np.all(np.isfinite(rec)):
        return ""
    ratio = rec[nonzero] / exp[nonzero]
    if np.allclose(ratio, ratio[0], rtol=1e-6) and np.allclose(rec[~nonzero], 0, atol=1e-12):
        r = float(ratio[0])
        if np.isclose(r, -1.0):
            return " (every value has the wrong sign)"
        return f" (every value is {r:.4g} times the expected one)"
    return ""


def _where(idx: tuple) -> str:
    return f" at index {idx}" if idx else ""


def evaluate(exercise: Exercise, fn: Callable, seed: int | None = None, n_cases: int | None = None) -> Result:
    """Run ``fn`` and the reference on fresh random cases; return a :class:`Result`."""
    if not callable(fn):
        return Result(exercise, ERROR, f"expected a function named {exercise.name}, got {type(fn).__name__}")
    rng = np.random.default_rng(seed)
    cases = exercise.cases(rng)[:n_cases]
    for i, case in enumerate(cases):
        try:
            got = as_outputs(exercise.run(fn, case), exercise.outputs)
        except NotImplementedError:
            return Result(exercise, NOT_ATTEMPTED, "not attempted yet — replace the "
                          "`raise NotImplementedError(...)` line with your code.", 0, len(cases))
        except BadReturn as exc:   # the function ran, but what it returned is not what the exercise asks for
            return Result(exercise, WRONG, f"test case {i + 1} of {len(cases)} ({describe_case(case)}): your "
                          f"function ran, but its return value is not what the exercise asks for: {exc}.\n"
                          f"Hint: {exercise.hint}", i, len(cases))
        except Exception as exc:  # noqa: BLE001 - a student's bug is reported, not raised
            return Result(exercise, ERROR, f"your function raised {type(exc).__name__}: {exc} "
                          f"on test case {i + 1} ({describe_case(case)}).\nHint: {exercise.hint}", i, len(cases))
        expected = as_outputs(exercise.run(exercise.reference, case), exercise.outputs)
        problem = compare_outputs(expected, got, exercise.rtol, exercise.atol)
        if problem:
            return Result(exercise, WRONG, f"test case {i + 1} of {len(cases)} ({describe_case(case)}): "
                          f"{problem}.\nHint: {exercise.hint}", i, len(cases))
    return Result(exercise, PASSED, f"all {len(cases)} test cases pass.", len(cases), len(cases))


def describe_case(case: dict) -> str:
    parts = []
    for k, v in case.items():
        if isinstance(v, (list, tuple)) and v and all(isinstance(i, (np.ndarray, tuple)) for i in v):
            # plain data standing for several arrays (or shapes) of different sizes: name each shape
            arrays = all(isinstance(i, np.ndarray) for i in v)
            shapes = ", ".join(str(i.shape if isinstance(i, np.ndarray) else tuple(i)) for i in v)
            parts.append(f"{k}={len(v)} arrays of shapes {shapes}" if arrays else f"{k}={shapes}")
            continue
        a = np.asarray(v)
        if a.dtype.kind == "b" and a.ndim == 0:
            parts.append(f"{k}={bool(a)}")
            continue
        parts.append(f"{k}={a.item():.4g}" if a.ndim == 0 and a.dtype.kind in "fiu"
                     else f"{k} of shape {a.shape}" if a.dtype.kind in "fiub" else f"{k}={v!r}")
    return ", ".join(parts)
