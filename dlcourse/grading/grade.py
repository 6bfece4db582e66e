"""Grade a class's notebooks: ``python -m dlcourse grade --unit N --out DIR SUBMISSION...``.

**What a point means.** Nothing but an implementation earns one. Each notebook of a submission runs in its own
sandboxed process (:mod:`.sandbox`) that imports ``dlcourse`` from a view in which every function the checking
harness does not need has no body (:mod:`.library`): the reference implementations, the library functions they
call and their twins are not loaded, not importable and not readable there, and PyTorch, SciPy and scikit-learn
are absent. After the notebook's cells ran, each exercise's function is called there on fresh random inputs
drawn here (from the instructor's secret, the submission's name and the exercise), and only its outputs, as plain
numbers, come back. They are compared with the reference here, in trusted code: the expected outputs never enter a
sandbox, so a forged report gains nothing — right outputs for inputs nobody could know in advance need an
implementation.

**Faults stay local.** A function that loops, crashes or exhausts memory loses its own exercise (each exercise
runs in a process of its own, each call within ``--call-timeout`` seconds); a notebook that cannot be read or
whose cells kill their process loses the exercises it holds. An exercise is found by its function's name in the
notebook it belongs to (the instructor notebook holding ``check("N.k", ...)``), with or without its header comment.
The grader's own faults (a sandbox that cannot start) are reported as ``grader error``, never as a student's crash;
before any submission, a trusted probe (a known right answer) must pass in the sandbox, or nothing is graded.

Writes ``DIR/grades.csv`` (one row per submission; rows of submissions not graded in this run are kept) and
``DIR/feedback/<submission>.md``. The same submissions graded into the same ``DIR`` get the same grades.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..checks.exercise import BadReturn, as_outputs, compare_outputs
from ..checks.registry import EXERCISES, _load_all
from . import library
from .gradebook import name_key
from .library import GraderSetupError
from .protocol import decode, encode
from .sandbox import Limits, bubblewrap_problem, run_notebook

ROOT = Path(__file__).resolve().parents[2]
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d+\.\d+)["']""")
EXERCISE_HEADER = re.compile(r"^#\s*Exercise\s+(\d+\.\d+)\s*:", re.MULTILINE)
STATUSES = ("graded", "not attempted", "invalid notebook", "timeout", "crashed", "grader error")
LIBRARY_REASON = "uses the library's own implementation of this exercise"
ABSENT_MESSAGE = re.compile(r"\b((?:dlcourse|torch|scipy|sklearn|jax|tensorflow|keras)\b[\w.]*) is not available while "
                            r"grading")
PROBE_EXERCISE = "2.1"
PROBE_SOURCE = "import numpy as np\n\ndef mse_grad(pred, target):\n    return 2.0 * (pred - target) / np.size(pred)\n"


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
        """The sum of the exercise scores, rounded once, after summing."""
        return round(sum(e.score for e in self.exercises.values()), 4)


def unit_exercises(unit: int) -> dict:
    _load_all()
    if isinstance(unit, bool) or not isinstance(unit, int):
        raise TypeError(f"unit must be an int, got {type(unit).__name__}")
    found = {k: v for k, v in EXERCISES.items() if v.unit == unit}
    if not found:
        units = sorted({v.unit for v in EXERCISES.values()})
        raise ValueError(f"unit must be one with exercises ({units}), got {unit}")
    return dict(sorted(found.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))))


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
        elif not p.exists() and not p.is_symlink():
            raise ValueError(f"submissions: no such file or folder: {raw}")
        else:
            subs.append((p.name, [p]))  # reported as an invalid notebook
    # one name per student however the file system spelled it (macOS writes "Zoë" decomposed): the gradebook's key
    subs = [(name_key(n) or n, nbs) for n, nbs in subs]
    names = [n for n, _ in subs]
    return [(f"{n}-{i}" if names.count(n) > 1 else n, nbs) for i, (n, nbs) in enumerate(subs)]


# -- where each exercise lives ---------------------------------------------------------------------------------------
def code_sources(path: Path) -> list[str]:
    """The code cells of a notebook (``ValueError`` naming the problem when it is not one)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not a Jupyter notebook (not JSON: {exc.msg} at line {exc.lineno})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("is not a Jupyter notebook (no list of cells)")
    out = []
    for cell in nb["cells"]:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append("".join(map(str, src)) if isinstance(src, list) else str(src))
    return out


@lru_cache(maxsize=None)
def exercise_homes(units_dir: Path = ROOT / "units") -> dict:
    """``{exercise id: notebook file name}`` from the instructor notebooks' ``check("N.k", ...)`` cells."""
    homes = {}
    for path in sorted(Path(units_dir).glob("*/*.ipynb")):
        try:
            for src in code_sources(path):
                for ex_id in CHECK_CALL.findall(src):
                    homes.setdefault(ex_id, path.name)
        except ValueError:
            continue
    return homes


def _defines(sources: list[str], name: str) -> bool:
    pattern = re.compile(rf"^(?:(?:async\s+)?def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*=", re.MULTILINE)
    return any(pattern.search(s) for s in sources)


@dataclass
class Plan:
    """Which notebook each exercise is graded in, and what could not be read."""

    notebooks: dict = field(default_factory=dict)      # Path -> [exercise ids]
    unreadable: dict = field(default_factory=dict)     # Path -> reason
    missing: dict = field(default_factory=dict)        # exercise id -> ExerciseGrade
    other_units: set = field(default_factory=set)
    readable: int = 0


def locate(exercises: dict, notebooks: list[Path]) -> Plan:
    """Find each exercise's notebook: the one named like the instructor's, else one that checks it, else one that
    defines its function; the function is then looked up by name there (the header comment is not needed)."""
    plan, readable = Plan(), {}
    for nb in notebooks:
        try:
            readable[nb] = code_sources(nb)
        except ValueError as exc:
            plan.unreadable[nb] = f"{Path(nb).name} {exc}"
    plan.readable = len(readable)
    for sources in readable.values():
        for src in sources:
            plan.other_units |= {i.split(".")[0] for i in CHECK_CALL.findall(src) + EXERCISE_HEADER.findall(src)
                                 if i not in exercises}
    homes = exercise_homes()
    for ex_id, ex in exercises.items():
        home = homes.get(ex_id)
        named = [nb for nb in notebooks if Path(nb).name == home]
        candidates = ([nb for nb in named if nb in readable and _defines(readable[nb], ex.name)]
                      or [nb for nb, s in readable.items() if any(f'"{ex_id}"' in c or f"'{ex_id}'" in c
                                                                  for c in s) and _defines(s, ex.name)]
                      or [nb for nb, s in readable.items() if _defines(s, ex.name)])
        if candidates:
            plan.notebooks.setdefault(candidates[0], []).append(ex_id)
        elif named and named[0] in plan.unreadable:
            plan.missing[ex_id] = ExerciseGrade(status="invalid notebook", reason=plan.unreadable[named[0]])
        else:
            where = f" in {home}" if named else ""
            plan.missing[ex_id] = ExerciseGrade(status="not attempted", reason=f"no function named {ex.name}{where}")
    return plan


# -- test cases and the secret ---------------------------------------------------------------------------------------
def make_cases(ex, name: str, secret: str) -> list:
    seed = int.from_bytes(hashlib.sha256(f"{secret}|{name}|{ex.id}".encode()).digest()[:8], "little")
    return ex.cases(np.random.default_rng(seed))


def grading_secret(out: Path, secret: str | None) -> str:
    """The instructor's ``--secret``, or a random one kept in ``DIR/.grading-secret`` (made on the first run), so
    that nobody can compute the test inputs in advance and regrading into the same folder gives the same grades."""
    if secret:
        return secret
    path = Path(out) / ".grading-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    Path(out).mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value


# -- one notebook in the sandbox -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Environment:
    view: Path
    sandboxed: bool
    limits: Limits


def _deadline(limits: Limits, n_cases: dict):
    """Cells get ``total_seconds`` (plus start-up); then each exercise its cases' call limits."""
    start, marks = time.monotonic(), {}

    def deadline(lines: list) -> float:
        if "cells" not in marks:
            for line in lines:
                if "cells" in line:
                    marks["cells"] = time.monotonic()
                    break
            else:
                return start + 20.0 + limits.total_seconds
        return marks["cells"] + 10.0 + sum(n * (limits.call_seconds + 1.0) + 2.0 for n in n_cases.values())
    return deadline


def run_one(env: Environment, notebook: Path, exercises: dict, cases: dict):
    job = {"cell_seconds": env.limits.cell_seconds, "call_seconds": env.limits.call_seconds,
           "exercises": {i: {"name": exercises[i].name, "cases": encode(cases[i])} for i in cases}}
    return run_notebook(job, notebook, env.view, env.limits, env.sandboxed,
                        _deadline(env.limits, {i: len(c) for i, c in cases.items()}))


def _reports(run, ids: list) -> tuple[dict | None, dict]:
    """The runner's lines sorted by exercise: ``{id: {"found", "cases": {k: line}, "end"}}`` (only planned ids)."""
    ready = next((line for line in run.lines if line.get("ready") is True), None)
    reports = {i: {"found": None, "cases": {}, "end": None} for i in ids}
    for line in run.lines:
        ex_id = line.get("exercise")
        if ex_id not in reports:
            continue
        rep = reports[ex_id]
        if "found" in line and rep["found"] is None:
            rep["found"] = bool(line["found"])
        elif "end" in line and rep["end"] is None:
            rep["end"] = {"end": str(line["end"]), "case": line.get("case"), "detail": str(line.get("detail"))[:200]}
        elif isinstance(line.get("case"), int) and line["case"] not in rep["cases"]:
            rep["cases"][line["case"]] = _clean(line)
    return ready, reports


def _clean(line: dict) -> dict:
    """A case line with the types the scoring expects (the line comes from untrusted code)."""
    calls = line.get("library_calls")
    return {"status": str(line.get("status")), "outputs": line.get("outputs"), "name": str(line.get("name")),
            "what": str(line.get("what"))[:300], "error": str(line.get("error"))[:500],
            "library_calls": [str(c) for c in calls][:5] if isinstance(calls, list) else []}


def _notebook_failure(run, nb_name: str, env: Environment) -> tuple[str, str] | None:
    """How a notebook's run failed as a whole, as ``(status, reason)``; None when its cells ran."""
    ready = any(line.get("ready") is True for line in run.lines)
    if not ready:
        said = run.stderr.strip().splitlines()
        detail = next((line["setup_error"] for line in run.lines if "setup_error" in line), "") or \
            (said[-1] if said else f"exit code {run.returncode}")
        return "grader error", (f"the grader could not start its sandbox for {nb_name} ({detail}); this is not the "
                                f"student's fault: grade this submission again")
    if any("cells" in line for line in run.lines):
        return None
    if run.timed_out:
        return "timeout", (f"the cells of {nb_name} ran longer than {env.limits.total_seconds:g} s (a cell that "
                           f"ignores interrupts?): its exercises could not be graded")
    return "crashed", (f"{nb_name} stopped while its cells ran ({_exit(run.returncode)}: a cell called os._exit or "
                       f"sys.exit at top level, crashed, or hit the memory limit of {env.limits.memory_mb} MB): its "
                       f"exercises could not be graded")


def _exit(code) -> str:
    return f"killed by signal {-code}" if isinstance(code, int) and code < 0 else f"exit code {code}"


# -- scoring (trusted: here, outside every sandbox) ------------------------------------------------------------------
def _library_reason(names: list) -> str:
    name = names[0]
    if name.split(".")[0] != "dlcourse":
        return (f"{LIBRARY_REASON}: it uses {name}, which graded functions cannot use (not available while grading); "
                f"write it with NumPy")
    return (f"{LIBRARY_REASON}: it calls {name}, which is not available while grading; write it with NumPy and "
            f"the Python standard library")


def _case_problem(ex, case: dict, line: dict | None, end: dict | None, k: int, expected: dict,
                  seconds: float) -> str | None:
    """What went wrong in test case k (None if it passed)."""
    if line is None:
        if end and end.get("end") == "timeout" and end.get("case") == k:
            return f"did not return within {seconds:g} s"
        if end and end.get("end") == "crashed" and end.get("case") == k:
            return (f"its process ended ({end.get('detail', 'no result')}: os._exit, a crash, or the memory limit) "
                    f"instead of returning")
        return "was not run (an earlier test case stopped this exercise)"
    status = line.get("status")
    if status == "ok":
        try:
            got = {str(key): np.asarray(v, dtype=np.float64) for key, v in decode(line["outputs"]).items()}
            judge = getattr(ex.run, "judge", None)
            if judge:   # a split adapter: what the calls returned is judged here, outside the sandbox
                got = as_outputs(judge(case, got), ex.outputs)
        except BadReturn as exc:
            return f"your function ran, but its return value is not what the exercise asks for: {exc}"
        except Exception as exc:  # noqa: BLE001 - whatever came back is untrusted
            return f"unreadable output ({type(exc).__name__}: {exc})"
        return compare_outputs(expected, got, ex.rtol, ex.atol)
    if status == "timeout":
        return f"did not return within {seconds:g} s"
    if status == "library":
        return f"called {line.get('name')}, which is not available while grading"
    if status == "refused":
        return (f"it tried something graded functions cannot do ({line.get('what')}); compute the result "
                f"in the function itself, with NumPy")
    if status == "bad return":
        return f"your function ran, but its return value is not what the exercise asks for: {line.get('error')}"
    if status == "not attempted":
        return "still raises NotImplementedError"
    return f"raised {line.get('error', 'an error')}"


def score_exercise(ex, cases: list, report: dict, limits: Limits, nb_name: str = "") -> ExerciseGrade:
    total = len(cases)
    if not report.get("found"):
        return ExerciseGrade(0.0, 0, total, "not attempted", f"no function named {ex.name} in {nb_name}".strip())
    lines = [report["cases"].get(k) for k in range(total)]
    end = report.get("end")
    if lines and all(line and line.get("status") == "not attempted" for line in lines):
        return ExerciseGrade(0.0, 0, total, "not attempted", "still raises NotImplementedError")
    used = [line.get("name") for line in lines if line and line.get("status") == "library"]
    used += [n for line in lines if line for n in line.get("library_calls", [])]
    used += [m.group(1) for line in lines if line and line.get("status") == "error"   # e.g. raised in a child process
             if (m := ABSENT_MESSAGE.search(str(line.get("error", ""))))]
    passed, first, kinds = 0, "", {}
    for k, (case, line) in enumerate(zip(cases, lines)):
        expected = as_outputs(ex.run(ex.reference, case), ex.outputs)
        problem = _case_problem(ex, case, line, end, k, expected, limits.call_seconds)
        if problem is None:
            passed += 1
            continue
        kind = line["status"] if line else (end or {}).get("end", "crashed")
        kinds.setdefault(kind, k)
        if not first:
            first = f"test case {k + 1}: {problem}"
    if used and passed < total:
        return ExerciseGrade(0.0, 0, total, "uses library", _library_reason(used))
    if passed == total:
        return ExerciseGrade(1.0, total, total, "passed", "")
    status = ("timeout" if "timeout" in kinds else "crashed" if "crashed" in kinds
              else "error" if set(kinds) & {"error", "refused"} else "wrong")
    reason = f"{first}. Hint: {ex.hint}" if status in ("wrong", "error") and set(kinds) != {"refused"} else first
    if status == "timeout":
        k = kinds["timeout"]
        reason = f"exercise {ex.id} did not return within {limits.call_seconds:g} s on test case {k + 1}" + \
            (" (the later test cases were not run)" if k + 1 < total else "")
    return ExerciseGrade(passed / total, passed, total, status, reason)


# -- a submission ----------------------------------------------------------------------------------------------------
def grade_notebook(env: Environment, nb: Path, ids: list, exercises: dict, name: str,
                   secret: str) -> tuple[dict, str]:
    """Grades of the exercises ``ids`` found in notebook ``nb`` (``{id: ExerciseGrade}``), and what went wrong
    with the notebook as a whole ("" when its cells ran)."""
    cases = {i: make_cases(exercises[i], name, secret) for i in ids}
    run = run_one(env, nb, exercises, cases)
    failure = _notebook_failure(run, nb.name, env)
    _, reports = _reports(run, ids)
    grades = {}
    for i in ids:
        rep = reports[i]
        if rep["found"] is None and failure:
            grades[i] = ExerciseGrade(0.0, 0, len(cases[i]), *failure)
        elif rep["found"] is None:
            status = "timeout" if run.timed_out else "crashed"
            grades[i] = ExerciseGrade(0.0, 0, len(cases[i]), status,
                                      f"{nb.name} stopped before exercise {i} was run ({_exit(run.returncode)}; an "
                                      f"earlier function of this notebook may have ended the process)")
        else:
            grades[i] = score_exercise(exercises[i], cases[i], rep, env.limits, nb.name)
    return grades, failure[1] if failure else ""


def _submission_status(g: SubmissionGrade, plan: Plan, notebook_problems: list) -> SubmissionGrade:
    """The submission's status from its exercises'; its reason lists what went wrong with whole notebooks."""
    statuses = {e.status for e in g.exercises.values()}
    reasons = [*plan.unreadable.values(), *notebook_problems]
    ran = any(e.passed or e.status in ("passed", "wrong", "error", "uses library") for e in g.exercises.values())
    if "grader error" in statuses:
        g.status = "grader error"
    elif not plan.notebooks and plan.readable == 0:
        g.status = "invalid notebook"
    elif not plan.notebooks and plan.other_units:
        g.status = "invalid notebook"
        reasons.append(f"no exercise of this unit found; the notebooks hold exercises of Unit(s) "
                       f"{', '.join(sorted(plan.other_units))}")
    elif statuses <= {"not attempted", "invalid notebook"}:
        g.status = "not attempted"
    elif not ran and statuses & {"timeout", "crashed"}:
        g.status = "timeout" if "timeout" in statuses else "crashed"
    else:
        g.status = "graded"
    g.reason = "; ".join(dict.fromkeys(r for r in reasons if r))
    return g


def grade_submission(env: Environment, name: str, notebooks: list[Path], unit: int, secret: str,
                     pool: ThreadPoolExecutor | None = None) -> SubmissionGrade:
    exercises = unit_exercises(unit)
    plan = locate(exercises, notebooks)
    g = SubmissionGrade(name, exercises={i: ExerciseGrade() for i in exercises})
    for i, eg in plan.missing.items():
        eg.total = len(exercises[i].cases(np.random.default_rng(0)))
        g.exercises[i] = eg
    runs = [(nb, ids) for nb, ids in plan.notebooks.items()]
    mapper = pool.map if pool else map
    problems = []
    for grades, problem in mapper(lambda item: _grade_notebook_safely(env, *item, exercises, name, secret), runs):
        g.exercises.update(grades)
        problems.append(problem)
    return _submission_status(g, plan, problems)


def _grade_notebook_safely(env, nb, ids, exercises, name, secret) -> tuple[dict, str]:
    """A failure of the grader itself is reported as such (status ``grader error``), never raised or blamed."""
    try:
        return grade_notebook(env, nb, ids, exercises, name, secret)
    except Exception as exc:  # noqa: BLE001
        why = (f"the grader failed on {nb.name} ({type(exc).__name__}: {exc}); this is not the student's fault: "
               f"grade this submission again")
        return {i: ExerciseGrade(0.0, 0, 0, "grader error", why) for i in ids}, why


# -- before grading: the sandbox must work ---------------------------------------------------------------------------
def probe(env: Environment) -> None:
    """Grade one known right answer in the sandbox; raise :class:`GraderSetupError` naming the cause if it fails."""
    ex = EXERCISES[PROBE_EXERCISE]
    with tempfile.TemporaryDirectory(prefix="dlcourse-probe-") as tmp:
        nb = Path(tmp) / "probe.ipynb"
        nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": PROBE_SOURCE}]}))
        cases = {ex.id: make_cases(ex, "probe", "probe")}
        run = run_one(env, nb, {ex.id: ex}, cases)
    ready, reports = _reports(run, [ex.id])
    expected_view = ("/grader/lib" if env.sandboxed else str(env.view)) + "/dlcourse/__init__.py"
    where = "inside the sandbox" if env.sandboxed else "in the grading subprocess"
    if ready is None:
        raise GraderSetupError(_probe_cause(run, env, where))
    if ready.get("dlcourse") != expected_view:
        raise GraderSetupError(f"the trusted probe failed: {where}, Python imported dlcourse from "
                               f"{ready.get('dlcourse')} instead of the grader's view of {library.PACKAGE_DIR} "
                               f"({expected_view}). Something puts another copy first on sys.path (a .pth file or "
                               f"an editable install); nothing was graded.")
    grade = score_exercise(ex, cases[ex.id], reports[ex.id], env.limits, "the probe")
    if grade.status != "passed":
        raise GraderSetupError(f"the trusted probe failed: a known right answer to exercise {ex.id} scored "
                               f"{grade.status} in the sandbox ({grade.reason or 'no result'}). The grader's "
                               f"sandbox does not work here; nothing was graded.")


def _probe_cause(run, env: Environment, where: str) -> str:
    text = run.stderr.strip()
    setup = next((line["setup_error"] for line in run.lines if "setup_error" in line), "")
    detail = setup or (text.splitlines()[-1] if text else f"it ended with {_exit(run.returncode)} and said nothing")
    fix = "nothing was graded."
    missing = re.search(r"No module named '([\w.]+)'", setup or text)
    if missing:
        top = missing.group(1).split(".")[0]
        if top == "dlcourse":
            fix = (f"the grader's copy of dlcourse ({env.view}) is not visible {where}; nothing was graded.")
        else:
            import importlib.util

            spec = importlib.util.find_spec(top)
            folder = Path(spec.origin).parent.parent if spec and spec.origin else None
            fix = (f"the package {top} is not visible {where}" + (f" (the grader's own copy is in {folder})" if folder
                   else " (it is not installed in the grader's environment either: pip install it)")
                   + "; nothing was graded.")
    elif "bwrap" in text:
        fix = "bubblewrap could not build the sandbox on this machine; nothing was graded."
    return f"the trusted probe failed: the sandboxed runner did not start ({detail}). Cause: {fix}"


def require_sandbox(sandbox: bool | None) -> bool:
    """``True`` when bubblewrap will be used; a clear error when it is needed but missing."""
    if sandbox is False:
        return False
    problem = bubblewrap_problem()
    if problem:
        raise GraderSetupError(f"{problem}. Grading without it (--no-sandbox) runs student code with no isolation "
                               f"of files or network.")
    return True


# -- results ---------------------------------------------------------------------------------------------------------
def feedback_name(name: str) -> str:
    """A file name for a submission: Unicode letters and digits kept; a short hash when anything else was changed,
    so that different names never share a file (``李雷`` and ``王芳``, ``a b`` and ``a_b``). Names are compared
    NFC-normalised, as in the gradebook: a decomposed "Zoë" is the same student, with the same file."""
    name = name_key(name) or name
    safe = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in name)
    safe = safe.lstrip(".") or "submission"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return safe[:150]


def _fmt(x: float) -> str:
    return f"{round(x, 4):g}"


def _header(unit: int) -> list[str]:
    return ["submission", "status", *[f"exercise {i}" for i in unit_exercises(unit)], "total", "max", "reason"]


def check_out_unit(out: Path, unit: int) -> None:
    """``ValueError`` if ``out`` already holds the grades of other exercises than ``unit``'s."""
    csv_path = Path(out) / "grades.csv"
    if not csv_path.exists():
        return
    with csv_path.open(newline="", encoding="utf-8") as f:
        old_header = next(csv.reader(f), None)
    if old_header and old_header != _header(unit):
        raise ValueError(f"out already holds grades of other exercises ({csv_path} has columns "
                         f"{', '.join(old_header[2:-3])}); grade Unit {unit} into another folder")


def write_outputs(out: Path, unit: int, grades: list[SubmissionGrade]) -> Path:
    """Write the rows and feedback of ``grades``; rows and feedback of other submissions already in ``out`` stay."""
    ids = list(unit_exercises(unit))
    header = _header(unit)
    check_out_unit(out, unit)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    rows = {}
    if csv_path.exists():
        with csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader, None)  # the header, checked above
            rows = {name_key(r[0]): [name_key(r[0]), *r[1:]] for r in reader if r}   # rows written before NFC
    for g in grades:
        rows[name_key(g.name)] = [name_key(g.name), g.status, *[_fmt(g.exercises[i].score) for i in ids], _fmt(g.total), str(len(ids)),
                        g.reason]
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows.values())
    os.replace(tmp, csv_path)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for g in grades:
        (feedback / f"{feedback_name(g.name)}.md").write_text(feedback_text(g, unit, ids), encoding="utf-8")
    return csv_path


def feedback_text(g: SubmissionGrade, unit: int, ids: list) -> str:
    lines = [f"# Feedback: {g.name}, Unit {unit}", "", f"Status: **{g.status}**. Score: {_fmt(g.total)} of {len(ids)}.",
             *(["", g.reason] if g.reason else []), "", "| exercise | score | result |", "|---|---|---|"]
    for i in ids:
        e = g.exercises[i]
        lines.append(f"| {i} | {_fmt(e.score)} ({e.passed}/{e.total} test cases) | {e.status} |")
    details = [f"- **{i}**: {g.exercises[i].reason}" for i in ids if g.exercises[i].reason]
    lines += ["", "## What to fix", "", *details] if details else []
    return "\n".join(lines) + "\n"


def grade(paths: list[str], unit: int, out: Path, limits: Limits = Limits(), jobs: int = 2, secret: str | None = None,
          sandbox: bool | None = None, progress: bool = True) -> list[SubmissionGrade]:
    """Grade every submission in ``paths`` into ``out`` (rows of other submissions there are kept); return the grades.

    ``sandbox=None`` requires bubblewrap (:class:`GraderSetupError` with the command to install it otherwise);
    ``False`` runs without isolation. A failing trusted probe raises :class:`GraderSetupError` before any row is
    written.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    out = Path(out).resolve()
    subs = collect(paths)
    for _, nbs in subs:
        for nb in nbs:
            if out == nb.resolve() or out in nb.resolve().parents:
                raise ValueError(f"out must not contain the submissions, got {out}")
    unit_exercises(unit)  # validates the unit before any work
    check_out_unit(out, unit)  # before grading a class, not after
    env = Environment(library.view()[0], require_sandbox(sandbox), limits)
    probe(env)
    secret = grading_secret(out, secret)
    from .._progress import progress_bar

    with ThreadPoolExecutor(max_workers=jobs) as notebooks, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_submission, env, n, nbs, unit, secret, notebooks) for n, nbs in subs]
        grades = [f.result() for f in progress_bar(futures, "grading", enabled=progress, unit="submission")]
    write_outputs(out, unit, grades)
    return grades
