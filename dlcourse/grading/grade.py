"""Grade a class's notebooks: ``python -m dlcourse grade --unit N --out DIR SUBMISSION...``.

Each submission (one notebook, or a folder holding one student's notebooks) runs in a
sandbox (see :mod:`dlcourse.grading.sandbox`). The student's exercise functions are called
there on fresh random inputs made here; only their outputs come back, as plain arrays, and
are compared with the reference here, in trusted code. Each test case passed earns a share
of the exercise's point. A graded function that calls the reference implementation (or
torch, or the checking code) scores 0 with that reason.

Writes ``DIR/grades.csv`` (one row per submission, whatever happened to it) and
``DIR/feedback/<submission>.md``. The same submissions give the same grades on every run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..checks.exercise import as_outputs, compare_outputs
from ..checks.registry import EXERCISES, _load_all
from .protocol import decode, encode
from .sandbox import Limits, have_bubblewrap, run_notebooks

EXERCISE_HEADER = re.compile(r"^#\s*Exercise\s+(\d+)\.(\d+)\s*:", re.MULTILINE)
STATUSES = ("graded", "timeout", "crashed", "invalid notebook", "not attempted")


@dataclass
class ExerciseGrade:
    score: float = 0.0
    passed: int = 0
    total: int = 0
    status: str = "not attempted"
    reason: str = ""


@dataclass
class SubmissionGrade:
    name: str
    status: str = "graded"
    reason: str = ""
    exercises: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(e.score for e in self.exercises.values()), 4)


def unit_exercises(unit: int) -> dict:
    _load_all()
    found = {k: v for k, v in EXERCISES.items() if v.unit == unit}
    if not found:
        units = sorted({v.unit for v in EXERCISES.values()})
        raise ValueError(f"unit must be one with exercises ({units}), got {unit}")
    return dict(sorted(found.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))))


def forbidden_names(ex) -> list[str]:
    """What the graded function may not call: the exercise's list, or its reference when that is public."""
    names = list(ex.forbidden)
    ref = ex.reference
    module = getattr(ref, "__module__", "") or ""
    if not names and module.startswith("dlcourse") and not module.startswith("dlcourse.checks"):
        names.append(f"{module}.{ref.__qualname__}")
    return names


def collect(paths: list[str]) -> list[tuple[str, list[Path]]]:
    """Submissions as ``(name, notebooks)``: a file is one; a folder of notebooks is one; a folder of folders, many."""
    subs = []
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            subs.append((p.stem, [p]))
        elif p.is_dir():
            direct = sorted(p.glob("*.ipynb"))
            if direct:
                subs.append((p.name, direct))
            for child in sorted(c for c in p.iterdir() if c.is_dir() and not c.name.startswith(".")):
                nbs = sorted(child.rglob("*.ipynb"))
                if nbs:
                    subs.append((child.name, nbs))
        else:
            subs.append((p.name, [p]))  # reported as an invalid notebook
    names = [n for n, _ in subs]
    return [(f"{n}-{i}" if names.count(n) > 1 else n, nbs) for i, (n, nbs) in enumerate(subs)]


def _read_exercise_ids(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    ids = []
    for cell in nb["cells"]:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            ids += [f"{a}.{b}" for a, b in EXERCISE_HEADER.findall(src)]
    return ids


def _cases(ex, name: str, secret: str):
    seed = int.from_bytes(hashlib.sha256(f"{secret}|{name}|{ex.id}".encode()).digest()[:8], "little")
    return ex.cases(np.random.default_rng(seed))


def grade_submission(name: str, notebooks: list[Path], unit: int, limits: Limits, secret: str,
                     sandbox: bool | None) -> SubmissionGrade:
    exercises = unit_exercises(unit)
    result = SubmissionGrade(name, exercises={k: ExerciseGrade() for k in exercises})
    plan, other_units = {}, set()
    for nb in notebooks:
        try:
            ids = _read_exercise_ids(nb)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return SubmissionGrade(name, "invalid notebook", f"{nb.name}: {exc}", result.exercises)
        mine = [i for i in ids if i in exercises]
        other_units |= {i.split(".")[0] for i in ids if i not in exercises}
        if mine:
            plan[nb] = mine
    if not plan:
        why = (f"no exercise of Unit {unit} found; the notebook holds exercises of Unit(s) "
               f"{', '.join(sorted(other_units))}" if other_units else f"no exercise of Unit {unit} found")
        return SubmissionGrade(name, "invalid notebook", why, result.exercises)
    cases = {i: _cases(exercises[i], name, secret) for ids in plan.values() for i in ids}
    job = {"cell_timeout": limits.cell_seconds,
           "notebooks": [{"exercises": {i: {"name": exercises[i].name, "cases": encode(cases[i]),
                                            "forbidden": forbidden_names(exercises[i])} for i in ids}}
                         for ids in plan.values()]}
    run = run_notebooks(job, list(plan), limits, use_sandbox=sandbox)
    if run.timed_out:
        return SubmissionGrade(name, "timeout", f"the notebooks ran longer than {limits.total_seconds:g} s",
                               result.exercises)
    try:
        reports = json.loads(run.output.decode())["notebooks"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return SubmissionGrade(name, "crashed", f"the notebook's process ended without a result (exit code "
                               f"{run.returncode}: e.g. os._exit, a crash, or the memory limit)", result.exercises)
    for ids, report in zip(plan.values(), reports):
        for i in ids:
            result.exercises[i] = score_exercise(exercises[i], cases[i], report.get("exercises", {}).get(i, {}))
    if all(e.status == "not attempted" for e in result.exercises.values()):
        result.status = "not attempted"
    return result


def _grade_safely(name, notebooks, unit, limits, secret, sandbox) -> SubmissionGrade:
    """Every submission gets a row: a failure of the grader itself is reported, not raised."""
    try:
        return grade_submission(name, notebooks, unit, limits, secret, sandbox)
    except Exception as exc:  # noqa: BLE001
        empty = {k: ExerciseGrade() for k in unit_exercises(unit)}
        return SubmissionGrade(name, "crashed", f"grader error: {type(exc).__name__}: {exc}", empty)


def score_exercise(ex, cases: list, entry: dict) -> ExerciseGrade:
    total = len(cases)
    if not entry.get("found"):
        return ExerciseGrade(0.0, 0, total, "not attempted", f"no function named {ex.name}")
    runs = entry.get("cases", [])
    if len(runs) != total:
        return ExerciseGrade(0.0, 0, total, "error", "the function was not run on every test case")
    if all(r.get("status") == "not attempted" for r in runs):
        return ExerciseGrade(0.0, 0, total, "not attempted", "still raises NotImplementedError")
    violations = sorted({v for r in runs for v in r.get("violations", [])})
    if violations:
        return ExerciseGrade(0.0, 0, total, "reference called",
                             f"the function calls {', '.join(violations)} instead of implementing the exercise")
    passed, first_problem = 0, ""
    for k, (case, run) in enumerate(zip(cases, runs)):
        expected = as_outputs(ex.run(ex.reference, case))
        if run.get("status") != "ok":
            problem = run.get("error") or run.get("status")
        else:
            try:
                got = {key: np.asarray(v, dtype=np.float64) for key, v in decode(run["outputs"]).items()}
                problem = compare_outputs(expected, got, ex.rtol, ex.atol)
            except (TypeError, ValueError) as exc:
                problem = f"unreadable output ({exc})"
        if problem is None:
            passed += 1
        elif not first_problem:
            first_problem = f"test case {k + 1}: {problem}"
    status = "passed" if passed == total else "wrong"
    reason = "" if passed == total else f"{first_problem}. Hint: {ex.hint}"
    return ExerciseGrade(round(passed / total, 4), passed, total, status, reason)


def write_outputs(out: Path, unit: int, grades: list[SubmissionGrade]) -> Path:
    ids = list(unit_exercises(unit))
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    if feedback.exists():
        shutil.rmtree(feedback)
    feedback.mkdir()
    csv_path = out / "grades.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", "status", *[f"exercise {i}" for i in ids], "total", "max", "reason"])
        for g in grades:
            w.writerow([g.name, g.status, *[f"{g.exercises[i].score:g}" for i in ids], f"{g.total:g}", len(ids),
                        g.reason])
    for g in grades:
        lines = [f"# Feedback: {g.name}, Unit {unit}", "", f"Status: **{g.status}**. Score: {g.total:g} of {len(ids)}.",
                 *([f"", g.reason] if g.reason else []), "", "| exercise | score | result |", "|---|---|---|"]
        for i in ids:
            e = g.exercises[i]
            lines.append(f"| {i} | {e.score:g} ({e.passed}/{e.total} test cases) | {e.status} |")
        details = [f"- **{i}**: {g.exercises[i].reason}" for i in ids if g.exercises[i].reason]
        lines += ["", "## What to fix", "", *details] if details else []
        (feedback / f"{_safe(g.name)}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "submission"


def grade(paths: list[str], unit: int, out: Path, limits: Limits = Limits(), jobs: int = 2, secret: str = "",
          sandbox: bool | None = None, progress: bool = True) -> list[SubmissionGrade]:
    """Grade every submission in ``paths``; write the CSV and the feedback; return the grades."""
    out = Path(out).resolve()
    subs = collect(paths)
    for _, nbs in subs:
        for nb in nbs:
            if out == nb.resolve() or out in nb.resolve().parents:
                raise ValueError(f"out must not contain the submissions, got {out}")
    if sandbox is None:
        sandbox = have_bubblewrap()
    unit_exercises(unit)  # validates the unit before any work
    from .._progress import progress_bar

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_grade_safely, n, nbs, unit, limits, secret, sandbox) for n, nbs in subs]
        grades = [f.result() for f in progress_bar(futures, "grading", enabled=progress, unit="submission")]
    write_outputs(out, unit, grades)
    return grades
