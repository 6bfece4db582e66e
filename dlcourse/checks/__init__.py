"""Gradient checks, relative errors and the self-checking exercises.

In a notebook::

    from dlcourse.checks import check
    check("1.3", sigmoid_prime)      # prints a pass, or the first thing that is wrong

``progress(1)`` shows which of Unit 1's exercises pass, are wrong, use the library
(right values, but computed with library functions the grader removes), or are not
attempted yet — across notebooks and kernels: in the student workspace (``make lab``)
every check is remembered in ``.dlcourse-progress.json`` (see :mod:`.records`).
``progress.reset()`` (or ``reset_progress()``) forgets it.
"""

from __future__ import annotations

import html as _html
from typing import Callable

from . import records as _records
from .exercise import ERROR, NOT_ATTEMPTED, PASSED, USES_LIBRARY, WRONG, Exercise, Result, evaluate
from .gradcheck import gradcheck, numerical_gradient, numerical_jacobian_vector, rel_error
from .registry import EXERCISES, _load_all, get_exercise

__all__ = [
    "check", "progress", "reset_progress", "Exercise", "Result", "EXERCISES", "get_exercise", "evaluate",
    "gradcheck", "numerical_gradient", "numerical_jacobian_vector", "rel_error",
    "PASSED", "WRONG", "NOT_ATTEMPTED", "ERROR", "USES_LIBRARY",
]

_LATEST: dict[str, Result] = {}      # this kernel's results (also when no workspace remembers them)
_TIMES: dict[str, str] = {}          # when each of them was checked (UTC, as in the progress file)


def check(exercise_id: str, fn: Callable, rng=None) -> Result:
    """Check a student's function for exercise ``exercise_id`` on fresh random inputs.

    ``rng`` (a seed or a ``Generator``; default: fresh entropy) draws the inputs: pass one to repeat a check exactly.

    Returns a :class:`Result`, which a notebook displays as one message: a pass,
    "not attempted yet", or the first wrong element with expected vs received and a hint.
    Right values computed by calling library functions that the grader removes for this exercise
    (:mod:`.library_use`) are "uses the library", not a pass: the message names the functions to write yourself.
    """
    result = evaluate(get_exercise(exercise_id), fn, rng=rng)
    _LATEST[exercise_id] = result
    _TIMES[exercise_id] = _records.now()
    _records.record(exercise_id, result.status)      # never raises; off when DLCOURSE_GRADING=1
    return result


# Okabe & Ito's colour-blind-safe palette; every square also carries its status as text.
STATUS_STYLE = {PASSED: ("#0072B2", "white", "✓"), WRONG: ("#D55E00", "white", "✗"),
                ERROR: ("#CC79A7", "black", "!"), USES_LIBRARY: ("#E69F00", "black", "⚠"),
                NOT_ATTEMPTED: ("#E8E8E8", "black", "·")}


class Progress(list):
    """Rows of ``(exercise id, title, status)``, shown as a table, a strip of squares, or :meth:`figure`."""

    source = None   # the progress file the rows came from (None: this kernel only)

    def __str__(self) -> str:
        width = max([len("status"), *(len(s) for _, _, s in self)])   # "uses the library" is the longest status
        lines = [f"{'exercise':<9} {'status':<{width}} title"]
        lines += [f"{i:<9} {s:<{width}} {t}" for i, t, s in self]
        done = sum(s == PASSED for _, _, s in self)
        where = f" (remembered in {self.source})" if self.source else " (this kernel only: no workspace found)"
        return "\n".join(lines + [f"{done} of {len(self)} passed{where}"])

    __repr__ = __str__

    def strip_html(self) -> str:
        """One square per exercise, a row per unit, coloured by status and labelled with its id and a symbol."""
        units: dict[str, list] = {}
        for i, t, s in self:
            units.setdefault(i.split(".")[0], []).append((i, t, s))
        rows = []
        for unit, items in units.items():
            squares = "".join(
                f'<span role="img" aria-label="exercise {i}: {s}" title="{_html.escape(f"{i} {t}: {s}")}" '
                f'style="display:inline-block;min-width:3.2em;margin:1px;padding:2px 3px;text-align:center;'
                f'font:12px/1.4 sans-serif;background:{STATUS_STYLE[s][0]};color:{STATUS_STYLE[s][1]};'
                f'border:1px solid #555;border-radius:3px">{i} {STATUS_STYLE[s][2]}</span>'
                for i, t, s in items)
            rows.append(f'<div><span style="display:inline-block;width:4em;font:12px sans-serif">Unit {unit}'
                        f'</span>{squares}</div>')
        legend = " ".join(f'<span style="background:{bg};color:{fg};padding:0 4px;border:1px solid #555">'
                          f'{sym} {s}</span>' for s, (bg, fg, sym) in STATUS_STYLE.items())
        return f'<div class="dlcourse-progress-strip">{"".join(rows)}<div style="font:12px sans-serif;' \
               f'margin-top:3px">{legend}</div></div>'

    def _repr_html_(self) -> str:
        icon = {PASSED: "✅ passed", WRONG: "❌ wrong", NOT_ATTEMPTED: "⏳ not attempted", ERROR: "💥 error",
                USES_LIBRARY: "⚠️ uses the library (the grader gives 0)"}
        rows = "".join(f"<tr><td>{i}</td><td>{_html.escape(t)}</td><td>{icon[s]}</td></tr>" for i, t, s in self)
        done = sum(s == PASSED for _, _, s in self)
        where = (f" — remembered in <code>{_html.escape(str(self.source))}</code>" if self.source
                 else " — this kernel only (no workspace found)")
        return (f"{self.strip_html()}<table><tr><th>exercise</th><th>title</th><th>status</th></tr>{rows}</table>"
                f"<p>{done} of {len(self)} passed{where}</p>")

    def figure(self):
        """The same squares as a small matplotlib figure (one row per unit); returns the figure."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch, Rectangle

        units: dict[str, list] = {}
        for i, _, s in self:
            units.setdefault(i.split(".")[0], []).append((i, s))
        width = max((len(v) for v in units.values()), default=1)
        fig, ax = plt.subplots(figsize=(0.7 * width + 1.2, 0.45 * len(units) + 0.9), dpi=100)
        for r, (unit, items) in enumerate(units.items()):
            for c, (i, s) in enumerate(items):
                bg, fg, sym = STATUS_STYLE[s]
                ax.add_patch(Rectangle((c, -r - 0.9), 0.92, 0.8, facecolor=bg, edgecolor="#555555"))
                ax.text(c + 0.46, -r - 0.5, f"{i}\n{sym}", ha="center", va="center", color=fg, fontsize=9)
        ax.set_xlim(-0.05, width)
        ax.set_ylim(-len(units) - 0.05, 0.05)
        ax.set_yticks([-r - 0.5 for r in range(len(units))], [f"Unit {u}" for u in units], fontsize=9)
        ax.set_xticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        ax.legend(handles=[Patch(facecolor=bg, edgecolor="#555555", label=f"{sym} {s}")
                           for s, (bg, _, sym) in STATUS_STYLE.items()],
                  loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=9, frameon=False)
        done = sum(s == PASSED for _, _, s in self)
        ax.set_title(f"{done} of {len(self)} exercises passed", fontsize=10)
        fig.tight_layout()
        return fig


def progress(unit: int | None = None) -> Progress:
    """Status of every exercise (of one ``unit``, or all): the latest check, in any notebook and any kernel.

    In the student workspace the results are remembered in its progress file; elsewhere only this kernel's checks
    count. Not checked yet = not attempted. ``progress.reset()`` forgets them.
    """
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, int)):
        raise TypeError(f"unit must be an int such as 1, or None for all units; got {type(unit).__name__}")
    _load_all()
    units = sorted({ex.unit for ex in EXERCISES.values()})
    if unit is not None and unit not in units:
        raise ValueError(f"unit must be one of {units} (or None for all units); got {unit}")
    path = _records.progress_file()
    saved = _records.load(path) if path is not None else {}
    rows = Progress()
    rows.source = path if path is not None and path.exists() else None
    for ex_id, ex in sorted(EXERCISES.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))):
        if unit is None or ex.unit == unit:
            status = NOT_ATTEMPTED
            if ex_id in saved and saved[ex_id]["status"] in STATUS_STYLE:
                status = saved[ex_id]["status"]
            res = _LATEST.get(ex_id)
            if res is not None and _TIMES.get(ex_id, "~") >= str(saved.get(ex_id, {}).get("time", "")):
                status = res.status     # this kernel checked it last (or the file lost it)
            rows.append((ex_id, ex.title, status))
    return rows


def reset_progress(unit: int | None = None) -> str:
    """Forget the results of every exercise (or of one ``unit``): in the workspace's file and in this kernel."""
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, int)):
        raise TypeError(f"unit must be an int such as 1, or None for all units; got {type(unit).__name__}")
    gone = _records.reset(unit)
    for ex_id in [k for k in _LATEST if unit is None or k.split(".")[0] == str(unit)]:
        _LATEST.pop(ex_id, None)
        _TIMES.pop(ex_id, None)
    what = "all units" if unit is None else f"Unit {unit}"
    return f"progress of {what} reset ({gone} remembered result(s) forgotten)"


progress.reset = reset_progress
