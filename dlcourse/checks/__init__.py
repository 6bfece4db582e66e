"""Gradient checks, relative errors and the self-checking exercises.

In a notebook::

    from dlcourse.checks import check
    check("1.3", sigmoid_prime)      # prints a pass, or the first thing that is wrong

``progress(1)`` shows which of Unit 1's exercises pass, are wrong, or are not
attempted yet.
"""

from __future__ import annotations

from typing import Callable

from .exercise import ERROR, NOT_ATTEMPTED, PASSED, WRONG, Exercise, Result, evaluate
from .gradcheck import gradcheck, numerical_gradient, numerical_jacobian_vector, rel_error
from .registry import EXERCISES, _load_all, get_exercise

__all__ = [
    "check", "progress", "Exercise", "Result", "EXERCISES", "get_exercise", "evaluate",
    "gradcheck", "numerical_gradient", "numerical_jacobian_vector", "rel_error",
    "PASSED", "WRONG", "NOT_ATTEMPTED", "ERROR",
]

_LATEST: dict[str, Result] = {}


def check(exercise_id: str, fn: Callable, seed: int | None = None) -> Result:
    """Check a student's function for exercise ``exercise_id`` on fresh random inputs.

    Returns a :class:`Result`, which a notebook displays as one message: a pass,
    "not attempted yet", or the first wrong element with expected vs received and a hint.
    """
    result = evaluate(get_exercise(exercise_id), fn, seed=seed)
    _LATEST[exercise_id] = result
    return result


class Progress(list):
    """Rows of ``(exercise id, title, status)``, shown as a table."""

    def __str__(self) -> str:
        lines = [f"{'exercise':<9} {'status':<14} title"]
        lines += [f"{i:<9} {s:<14} {t}" for i, t, s in self]
        done = sum(s == PASSED for _, _, s in self)
        return "\n".join(lines + [f"{done} of {len(self)} passed"])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        icon = {PASSED: "✅ passed", WRONG: "❌ wrong", NOT_ATTEMPTED: "⏳ not attempted", ERROR: "💥 error"}
        rows = "".join(f"<tr><td>{i}</td><td>{t}</td><td>{icon[s]}</td></tr>" for i, t, s in self)
        done = sum(s == PASSED for _, _, s in self)
        return (f"<table><tr><th>exercise</th><th>title</th><th>status</th></tr>{rows}</table>"
                f"<p>{done} of {len(self)} passed</p>")


def progress(unit: int | None = None) -> Progress:
    """Status of each exercise checked in this session (not checked yet = not attempted)."""
    _load_all()
    rows = Progress()
    for ex_id, ex in sorted(EXERCISES.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))):
        if unit is None or ex.unit == unit:
            res = _LATEST.get(ex_id)
            rows.append((ex_id, ex.title, res.status if res else NOT_ATTEMPTED))
    return rows
