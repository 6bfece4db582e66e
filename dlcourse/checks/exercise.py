"""The exercise format every unit uses, and the check that gives feedback.

An :class:`Exercise` says how to make fresh random test cases, how to run a
function on one case (the *adapter*, which turns whatever the function returns
into a dict of plain arrays) and which reference function is right. The check
runs the student's function and the reference on the same cases and reports
the first thing that is wrong: which output, which element, expected vs
received, a pattern when one is visible ("every value is 4 times the expected
one", "the axes are swapped"), and which hint level to open next. A stub that still raises ``NotImplementedError`` is
reported as *not attempted*, never as wrong.

The grader (``dlcourse.grading``) reuses the same pieces: it runs the adapter on
the student's function inside a sandbox and compares outside, in trusted code.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._validate import as_rng
from .library_use import short_name, watch

PASSED, WRONG, NOT_ATTEMPTED, ERROR = "passed", "wrong", "not attempted", "error"
# The values are right, but the function calls library code that is absent when the exercise is graded
# (see dlcourse.checks.library_use): the grader would give it 0, so it does not count as passed.
USES_LIBRARY = "uses the library"

# What each hint level gives, in the order a student opens them (see Exercise.hints).
HINT_TITLES = ("the idea", "the formula", "a skeleton with blanks")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id (``"1.3"``), the function the student writes, how to check it.

    ``hints`` holds two or three levels, opened one after the other: the idea, the formula or the shape
    reasoning, a skeleton with blanks ``____``; no level is the answer's code. The notebook shows them
    above the exercise (:func:`hints_markdown`) and a failed check names the level to open next.
    ``hint`` is the first level, kept for older callers; giving only ``hint`` makes it the one level.
    """

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
    # The hint levels (see the class docstring).
    hints: tuple = ()
    # diagnose(case, problem) -> a sentence saying what is special about the test case a function failed on, given
    # the problem compare_outputs found (or None). It must not give the answer away.
    diagnose: Callable[[dict, str], str | None] | None = None
    unit: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "unit", int(self.id.split(".")[0]))
        if isinstance(self.hints, str):
            raise TypeError(f"Exercise {self.id}: hints must be a tuple of strings (the levels), got one string")
        hints = tuple(self.hints) or ((self.hint,) if self.hint else ())
        if len(hints) > len(HINT_TITLES) or not all(isinstance(h, str) and h.strip() for h in hints):
            raise ValueError(f"Exercise {self.id}: hints must be 1 to {len(HINT_TITLES)} non-empty strings, "
                             f"got {self.hints!r}")
        object.__setattr__(self, "hints", hints)
        object.__setattr__(self, "hint", hints[0] if hints else "")
        if self.run is None:
            object.__setattr__(self, "run", call_with_kwargs)


def skeleton(code: str) -> str:
    """A hint's code skeleton as a Markdown code block; blanks are written ``____``."""
    return "```python\n" + textwrap.dedent(code).strip("\n") + "\n```"


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
        icon = {PASSED: "✅", WRONG: "❌", NOT_ATTEMPTED: "⏳", ERROR: "💥", USES_LIBRARY: "⚠️"}[self.status]
        return f"{icon} Exercise {self.exercise.id} ({self.exercise.title}): {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", WRONG: "#b35900", NOT_ATTEMPTED: "#555555", ERROR: "#b35900",
                  USES_LIBRARY: "#8a6d00"}[self.status]
        text = str(self).replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        return f'<div style="border-left:4px solid {colour};padding:4px 8px">{text}</div>'


def compare_outputs(expected: dict, got: dict, rtol: float, atol: float, inputs: dict | None = None) -> str | None:
    """Return a sentence describing the first difference, or ``None`` if all match.

    With the test case's ``inputs``, an output that merely repeats an input is named as such.
    """
    for key, exp in expected.items():
        if key not in got:
            return f"{key} is missing: expected {len(expected)} output(s), got {len(got)}"
        rec = got[key]
        if rec.shape != exp.shape:
            return f"{key} has shape {rec.shape}, expected {exp.shape}" + _shape_pattern(rec.shape, exp.shape)
        if not np.all(np.isfinite(rec)) and np.all(np.isfinite(exp)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(rec))[0])
            return f"{key}{_where(idx)} is {rec[idx]} (not finite), expected {_num(exp[idx])}"
        bad = ~np.isclose(rec, exp, rtol=rtol, atol=atol)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            pattern = _input_pattern(rec, exp, inputs) or _pattern(rec, exp, rtol, atol)
            return f"{key}{_where(idx)} is {_num(rec[idx])}, expected {_num(exp[idx])}" + pattern
    return None


def _num(x) -> str:
    """A number for a message: 6 significant digits, and never "-0"."""
    return f"{float(x) + 0.0:.6g}"


def _shape_pattern(rec: tuple, exp: tuple) -> str:
    """Name what a wrong shape suggests: swapped axes, a sum too many or too few, an extra axis."""
    size_rec, size_exp = int(np.prod(rec)), int(np.prod(exp))
    if len(rec) == len(exp) >= 2 and rec == exp[::-1]:
        return (" (the axes are swapped: a transpose too many or too few, or the factors of a product in the "
                "wrong order)")
    if tuple(d for d in rec if d != 1) == tuple(d for d in exp if d != 1):
        return " (the same values with an axis of length 1 added or dropped: check keepdims, [:, None] or a reshape)"
    if size_rec == 1 and size_exp > 1:
        return " (one number where an array is expected: is a sum or a mean too many?)"
    if size_exp == 1 and size_rec > 1:
        return " (an array where one number is expected: is a sum or a mean missing?)"
    if len(rec) == len(exp):
        axes = [k for k, (a, b) in enumerate(zip(rec, exp)) if a != b]
        if len(axes) == 1:
            k = axes[0]
            return f" (axis {k} has length {rec[k]}, expected {exp[k]}; the other axes are right)"
    if sorted(rec) == sorted(exp):
        return " (the right lengths in the wrong order: the axes are permuted)"
    return ""


def _input_pattern(rec: np.ndarray, exp: np.ndarray, inputs: dict | None) -> str:
    """Name an output that is one of the inputs, unchanged (an update skipped, a branch not taken)."""
    for name, value in (inputs or {}).items():
        if isinstance(value, np.ndarray) and value.shape == rec.shape and value.dtype.kind == "f" \
                and rec.size > 0 and np.array_equal(rec, value) and not np.allclose(exp, value):
            return f" (it is the input {name}, unchanged: is an update or a step skipped on this case?)"
    for name, value in (inputs or {}).items():
        if isinstance(value, np.ndarray) and value.shape == rec.shape and value.dtype.kind == "f" \
                and np.any(np.abs(value - 1) > 1e-6) and np.allclose(rec, exp * value, rtol=1e-6, atol=1e-10):
            return f" (every value is the expected one times the input {name}, element by element)"
    return ""


def _pattern(rec: np.ndarray, exp: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8) -> str:
    """Name a systematic error: a constant factor, a constant offset, a sign flipped on part of the values,
    a transpose, zeros where values are expected, one factor per row."""
    if rec.size < 2 or not np.all(np.isfinite(rec)):
        return ""
    nonzero = np.abs(exp) > 1e-12
    close = lambda a, b: np.allclose(a, b, rtol=max(rtol, 1e-6), atol=max(atol, 1e-10))  # noqa: E731
    if nonzero.sum() >= 2 and np.all(np.abs(rec) <= 1e-12):
        return " (every value is 0, though the expected ones are not: a term left out, or a step skipped?)"
    if nonzero.sum() >= 2 and np.allclose(rec[~nonzero], 0, atol=1e-12):
        ratio = rec[nonzero] / exp[nonzero]
        if np.allclose(ratio, ratio[0], rtol=1e-6):
            r = float(ratio[0])
            if np.isclose(r, -1.0):
                return " (every value has the wrong sign)"
            if abs(r) > 1e-3:
                return f" (every value is {r:.4g} times the expected one: a factor too many or too few)"
    diff = rec - exp
    if np.allclose(diff, diff.flat[0], rtol=1e-6, atol=1e-10) and abs(diff.flat[0]) > 1e-10:
        return (f" (every value is off by the same amount, {float(diff.flat[0]):+.4g}: a constant term added or "
                "left out?)")
    if close(np.abs(rec), np.abs(exp)):
        flipped = ~np.isclose(rec, exp, rtol=rtol, atol=atol)
        if np.all(exp[flipped] > 0):
            return (" (the sizes are right, but the sign is wrong where the expected value is positive: check that "
                    "branch)")
        if np.all(exp[flipped] < 0):
            return (" (the sizes are right, but the sign is wrong where the expected value is negative: check that "
                    "branch)")
        return " (the sizes are right, but some signs are wrong)"
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and close(rec, exp.T):
        return " (your array is the transpose of the expected one)"
    if exp.ndim == 2 and exp.shape[0] >= 2 and np.all(nonzero):
        ratio = rec / exp
        if np.allclose(ratio, ratio[:, :1], rtol=1e-6) and not np.allclose(ratio, ratio.flat[0], rtol=1e-6):
            return " (each row is off by its own factor: a normalization per row, or a per-sample term?)"
    matches = np.isclose(rec, exp, rtol=rtol, atol=atol)
    if matches.sum() == rec.size - 1:
        return f" (the only wrong value of {rec.size})"
    if matches.sum() >= rec.size / 2:
        return f" ({int(matches.sum())} of {rec.size} values are right: look at what the wrong ones have in common)"
    return ""


def _where(idx: tuple) -> str:
    return f" at index {idx}" if idx else ""


def evaluate(exercise: Exercise, fn: Callable, rng=None, n_cases: int | None = None) -> Result:
    """Run ``fn`` and the reference on fresh random cases drawn with ``rng`` (a seed or a Generator); a :class:`Result`."""
    if not callable(fn):
        return Result(exercise, ERROR, f"expected a function named {exercise.name}, got {type(fn).__name__}")
    cases = exercise.cases(as_rng(rng))[:n_cases]
    used: list[str] = []      # library functions the student's function called that the grader removes
    result = _evaluate_cases(exercise, fn, cases, used)
    return _library_use(result, used) if used else result


def _library_use(result: Result, used: list[str]) -> Result:
    """Say which absent library functions the student's function called; right values then become USES_LIBRARY."""
    names = list(dict.fromkeys(used))
    called = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    shorts = [short_name(n) for n in names[:3]]
    # a private helper or a lambda of the library is no name to reuse: then the exercise's own function is meant
    own = ", ".join(dict.fromkeys(f"`{result.exercise.name if s.split('.')[-1][:1] in '_<' else s}`"
                                  for s in shorts))
    why = (f"your function calls {called}, which the grader removes: graded work must compute this with NumPy, the "
           f"standard library and what the exercise hands in (write your own {own} in the notebook)")
    if result.status == PASSED:
        return Result(result.exercise, USES_LIBRARY, f"values right, but {why}. As it is, the grader gives this "
                      "exercise 0.", result.cases_passed, result.cases_total)
    return Result(result.exercise, result.status, f"{result.message}\nAlso: {why}.", result.cases_passed,
                  result.cases_total)


def _evaluate_cases(exercise: Exercise, fn: Callable, cases: list, used: list) -> Result:
    for i, case in enumerate(cases):
        try:
            with watch(used):
                out = exercise.run(fn, case)
            got = as_outputs(out, exercise.outputs)
        except NotImplementedError:
            start = "\nHint 1 above the exercise gives the idea." if exercise.hints else ""
            return Result(exercise, NOT_ATTEMPTED, "not attempted yet — replace the "
                          f"`raise NotImplementedError(...)` line with your code.{start}", 0, len(cases))
        except BadReturn as exc:   # the function ran, but what it returned is not what the exercise asks for
            return Result(exercise, WRONG, f"test case {i + 1} of {len(cases)} ({describe_case(case)}): your "
                          f"function ran, but its return value is not what the exercise asks for: {exc}.\n"
                          + next_hint(exercise, len(HINT_TITLES)), i, len(cases))
        except Exception as exc:  # noqa: BLE001 - a student's bug is reported, not raised
            level = 2 if _is_shape_error(exc) else 1
            return Result(exercise, ERROR, f"your function raised {type(exc).__name__}: {exc} "
                          f"on test case {i + 1} ({describe_case(case)}).{_error_advice(exc)}\n"
                          + next_hint(exercise, level), i, len(cases))
        expected = as_outputs(exercise.run(exercise.reference, case), exercise.outputs)
        problem = compare_outputs(expected, got, exercise.rtol, exercise.atol, inputs=case)
        if problem:
            level = 2 if (i > 0 or " has shape " in problem or "(" in problem.split(", expected")[-1]) else 1
            note = exercise.diagnose(case, problem) if exercise.diagnose else None
            if note:
                note = f"\n{note}"
            elif i:
                first = "the first test case" if i == 1 else f"the first {i} test cases"
                note = f"\nYour function passes {first}: what is special about this one?"
            return Result(exercise, WRONG, f"test case {i + 1} of {len(cases)} ({describe_case(case)}): "
                          f"{problem}.{note or ''}\n" + next_hint(exercise, level), i, len(cases))
    return Result(exercise, PASSED, f"all {len(cases)} test cases pass.", len(cases), len(cases))


def next_hint(exercise: Exercise, level: int) -> str:
    """The last line of a failure message: which hint level to open (never the hint's text)."""
    if not exercise.hints:
        return "Read the exercise's text above it once more."
    level = max(1, min(level, len(exercise.hints)))
    text = f"Open hint {level} above the exercise ({HINT_TITLES[level - 1]})"
    if level < len(exercise.hints):
        text += f"; if it does not help, hint {level + 1} ({HINT_TITLES[level]})"
    return text + "."


def hints_markdown(exercise: Exercise) -> str:
    """The exercise's hint levels as the notebook shows them: one ``<details>`` block per level."""
    blocks = [f"<details><summary>Hint {k}: {HINT_TITLES[k - 1]}</summary>\n\n{text.strip()}\n</details>"
              for k, text in enumerate(exercise.hints, start=1)]
    return "\n\n".join(blocks)


def _is_shape_error(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, (ValueError, IndexError)) and any(
        w in text for w in ("shape", "matmul", "broadcast", "dimension", "out of bounds", "size"))


def _error_advice(exc: Exception) -> str:
    if _is_shape_error(exc):
        return "\nThe shapes do not fit: write the shape of every array next to it and check each product."
    if isinstance(exc, FloatingPointError):
        return ("\nNumPy overflowed or divided by zero: some intermediate value is too large for a float, "
                "even if the final result is not.")
    return ""


def describe_case(case: dict) -> str:
    parts = []
    for k, v in case.items():
        if isinstance(v, (list, tuple)) and v and all(isinstance(i, (np.ndarray, tuple)) for i in v):
            # plain data standing for several arrays (or shapes) of different sizes: name each shape
            arrays = all(isinstance(i, np.ndarray) for i in v)
            shapes = ", ".join(str(i.shape if isinstance(i, np.ndarray) else tuple(i)) for i in v)
            parts.append(f"{k}={len(v)} arrays of shapes {shapes}" if arrays else f"{k}={shapes}")
            continue
        try:
            a = np.asarray(v)
        except ValueError:   # a ragged list, such as layers given as tuples of different lengths
            parts.append(f"{k}={_short(v)}")
            continue
        if isinstance(v, (tuple, list)) and len(v) <= 8 and all(isinstance(x, (int, np.integer)) for x in v):
            parts.append(f"{k}={type(v)(int(x) for x in v)}")     # a shape or a few sizes: show them
            continue
        if a.dtype.kind == "b" and a.ndim == 0:
            parts.append(f"{k}={bool(a)}")
            continue
        parts.append(f"{k}={a.item():.4g}" if a.ndim == 0 and a.dtype.kind in "fiu"
                     else f"{k} of shape {a.shape}" if a.dtype.kind in "fiub" else f"{k}={_short(v)}")
    return ", ".join(parts)


def _short(v) -> str:
    """A value that is not one array, on one line: a dict or list of arrays by their shapes."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_short(x)}" for k, x in v.items()) + "}"
    if isinstance(v, np.ndarray):
        return f"array of shape {v.shape}"
    if isinstance(v, (list, tuple)) and any(isinstance(x, np.ndarray) for x in v):
        return f"{type(v).__name__} of {len(v)} arrays of shapes " + ", ".join(str(np.shape(x)) for x in v)
    return " ".join(repr(v).split())
