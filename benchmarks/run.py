"""Speed targets of the course: prints a table and writes benchmarks/results.json.

Run by hand (not part of CI's pass/fail):
``python benchmarks/run.py [--only SUBSTRING] [--skip-notebooks] [--with-ci] [--submissions N] [--list]``
(``make benchmarks`` runs every group but the opt-in ones).
The "course budget" rows time the whole course: every notebook under nbval, the browser tests, and (opt-in)
``.ci/run`` on a fresh clone.

Every row verifies its work before it reports a time
-----------------------------------------------------
- notebooks: the run raised no error and executed every code cell;
- widgets: every move of a control changed the picture (the PNG, or the caption under it);
- scalar engine: the timed training steps lowered the loss; race: every racer stayed finite and went downhill;
- grading (one group per unit): the instructor copies score full marks on every exercise, the untouched student
  copies are "not attempted", and the partly wrong copies (one exercise replaced by a function returning NaN) score
  every exercise but that one;
- training rows (``bench_training.py``) report the accuracy or loss they reached beside the time, with its own target;
- course budget: the command exited 0 and reported no failure.

A row is ``{name, value, unit, target, ok, status}`` (``group`` is added here) where ``status`` is

- ``"measured"``: ``value`` (in ``unit``) against the upper bound ``target``; ``ok`` is ``value <= target``. An
  optional ``reached = {what, value, target, better}`` (``better``: ``"higher"`` or ``"lower"``) is what the timed
  work achieved (e.g. a test accuracy); a row whose ``reached`` misses its target is reported as failed;
- ``"failed"``: the work did not verify; ``value`` is ``null`` and ``reason`` says why. Never a time;
- ``"not run"``: a prerequisite is missing (the built site, Chromium, bubblewrap, ``.ci/run``); ``reason`` says which.
  When a group is named explicitly with ``--only``, a missing prerequisite is a failure instead.

The exit status is 1 when any row failed (a missed target is shown as ``NO`` but is not a failure of the run).
results.json keeps, for groups this run did not measure (skipped, opt-in or not run), the rows of the last run that did.

Benchmark modules: ``benchmarks/bench_*.py``
--------------------------------------------
Any ``benchmarks/bench_<name>.py`` is discovered (``bench_unit5.py`` and ``bench_training.py`` are two). It defines

- ``BENCHMARKS``: a dict ``{group name: function}``; each function takes no argument (give size parameters
  defaults) and returns a list of rows;
- optionally ``OPT_IN``: the same, for groups that run only when named in full with ``--only`` (or ``--with-ci``).

Build rows with ``benchlib.row(name, value, unit, target, reached=None)``, ``benchlib.failed_row(name, reason)`` or
``benchlib.not_run_row(name, reason)``, or raise ``benchlib.Failed(reason)`` / ``benchlib.NotRun(reason)`` for the
whole group (``from benchlib import Failed, NotRun, row``: this folder is on ``sys.path``). Plain dicts with the keys
above work too (a row without ``status`` is ``"measured"``). Any other exception, or a malformed row, becomes a failed
row with the reason; a module that cannot be imported becomes a failed group named after its file. Group names must
be unique across modules. Run a module alone with ``python benchmarks/bench_<name>.py`` if it has a ``__main__``.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import math
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "benchmarks", ROOT / "tools", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from benchlib import Failed, NotRun, failed_row, normalize, not_run_row, reached_text, row  # noqa: E402

MICROGRAD_STEP_S = 0.8  # a micrograd-style engine's step on this machine, quiet (see issue 2)
GRADING_SUBMISSIONS = 50
GRADING_TARGET_S = 300.0  # 50 submissions of any unit within 5 minutes on a 2-core machine (issue 12, point 8)


# --- notebooks -------------------------------------------------------------------------------------------------


def run_notebook(path: Path, timeout: int = 600) -> float:
    """Execute a notebook in memory (nothing is written); return its seconds, or raise Failed saying what went wrong."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}, store_widget_state=False)
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        what = f"{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}".strip(": ") or str(exc).splitlines()[-1]
        raise Failed(f"a cell raised {what}") from None
    except Exception as exc:  # noqa: BLE001 - a timeout, a dead kernel: the run did not complete
        raise Failed(f"the notebook did not run to the end: {type(exc).__name__}: {str(exc)[:200]}") from None
    seconds = time.perf_counter() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise Failed(f"a cell shows an error: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    unrun = [k + 1 for k, c in enumerate(code) if c.source.strip() and c.get("execution_count") is None]
    if unrun:
        raise Failed(f"code cell(s) {unrun[:5]} did not run")
    return seconds


def bench_notebooks(paths: list | None = None, target: float = 30.0) -> list[dict]:
    from execute_notebooks import notebooks

    rows = []
    base = ROOT / "units"
    for nb in notebooks([str(p) for p in (paths or [base])]):
        name = f"notebook {nb.relative_to(base) if nb.is_relative_to(base) else nb.name}"
        try:
            rows.append(row(name, run_notebook(nb), "s", target))
        except Failed as exc:
            rows.append(failed_row(name, str(exc), "s", target))
    return rows


# --- widgets ---------------------------------------------------------------------------------------------------


def _picture(demo) -> tuple:
    """What the student sees: the PNG and, when the demo has one, its caption (a sample of text, a verdict)."""
    caption = getattr(demo, "caption", None)
    return bytes(demo.image.value or b""), getattr(caption, "value", None)


def widget_latency(demo, moves: list[tuple[str, object]], repeats: int = 3, warmup: bool = False) -> float:
    """Median milliseconds from setting a control to the new PNG being ready.

    A move that leaves its control's value as it was is no move (nothing to time); every real move must change the
    picture, else Failed (a widget that does not redraw is fast for the wrong reason).
    """
    times = []
    for _ in range(repeats):
        for name, value in moves:
            control = demo.play if name == "play" else demo.controls[name]
            new = control.value + 1 if name == "play" else value
            if control.value == new:
                continue
            before = _picture(demo)
            start = time.perf_counter()
            control.value = new
            elapsed = 1000 * (time.perf_counter() - start)
            if _picture(demo) == before and not warmup:
                headless = " (DLCOURSE_HEADLESS is set: demos draw nothing)" if os.environ.get("DLCOURSE_HEADLESS") \
                    else ""
                raise Failed(f"setting {name!r} to {new!r} changed neither the picture nor its caption{headless}")
            times.append(elapsed)
    if not times and not warmup:
        raise Failed("none of the moves changed a control")
    return statistics.median(times) if times else 0.0


def widget_cases() -> dict:
    """Every ``BENCHMARK_CASES`` of the ``dlcourse.widgets.unitN`` modules: name -> (factory, moves)."""
    import importlib
    import pkgutil

    import dlcourse.widgets as pkg

    cases = {}
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("unit"):
            cases |= getattr(importlib.import_module(f"dlcourse.widgets.{mod.name}"), "BENCHMARK_CASES", {})
    return cases


def bench_widgets(cases: dict | None = None, repeats: int = 3, target: float = 100.0) -> list[dict]:
    rows = []
    for name, (factory, moves) in (widget_cases() if cases is None else cases).items():
        label = f"widget update: {name}"
        try:
            demo = factory()
            widget_latency(demo, moves[:1], repeats=1, warmup=True)  # warm up fonts and caches
            rows.append(row(label, widget_latency(demo, moves, repeats), "ms", target))
        except Failed as exc:
            rows.append(failed_row(label, str(exc), "ms", target))
        except Exception as exc:  # noqa: BLE001 - one broken demo must not hide the others
            rows.append(failed_row(label, f"{type(exc).__name__}: {exc}", "ms", target))
    return rows


# --- scalar engine and optimizer race ----------------------------------------------------------------------------


def verify_descent(losses: list[float], label: str) -> None:
    """The losses returned by successive training steps are finite and end lower than they started."""
    if not all(math.isfinite(x) for x in losses):
        raise Failed(f"{label}: a training step returned a non-finite loss ({losses})")
    if len(losses) < 2 or not losses[-1] < losses[0]:
        raise Failed(f"{label}: the timed steps did not lower the loss ({', '.join(f'{x:.6g}' for x in losses)})")


def bench_scalar_engine(n_points: int = 100, repeats: tuple[int, int] = (3, 5), lr: float = 0.05) -> list[dict]:
    import closure_engine
    from dlcourse import data
    from dlcourse.mlp import ScalarMLP, scalar_training_step

    d = data.make_moons(n_points, rng=0)
    y = 2.0 * d.y - 1
    net = closure_engine.mlp([2, 16, 16, 1])
    times, losses = [], []
    for _ in range(repeats[0]):
        start = time.perf_counter()
        losses.append(closure_engine.step(net, d.X, y, lr=lr))
        times.append(time.perf_counter() - start)
    verify_descent(losses, "closure-based engine")
    baseline = statistics.median(times)
    rows = [row("closure-based (micrograd-style) engine: the same step, for comparison", baseline, "s", 10.0)]
    for fused, label in ((True, "Value.dot neurons"), (False, "primitive + and * only")):
        name = f"scalar engine: one step of MLP(2, [16, 16], 1) on {n_points} points ({label})"
        model = ScalarMLP(2, [16, 16], 1, rng=0, fused=fused)
        times, losses = [], []
        for _ in range(repeats[1]):
            start = time.perf_counter()
            losses.append(scalar_training_step(model, d.X, y, lr=lr))
            times.append(time.perf_counter() - start)
        try:
            verify_descent(losses, label)
            rows.append(row(name, statistics.median(times), "s", min(MICROGRAD_STEP_S, baseline) / 2))
        except Failed as exc:
            rows.append(failed_row(name, str(exc), "s"))
    return rows


def _race_function():
    """The optimizer race (``dlcourse.explore.race``, beside the other labs)."""
    from dlcourse.explore.race import race

    return race


def default_racers() -> dict:
    from dlcourse.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

    return {"SGD": lambda p: SGD(p, lr=1e-3, momentum=0.9), "Adagrad": lambda p: Adagrad(p, lr=0.5),
            "RMSprop": lambda p: RMSprop(p, lr=0.01), "Adadelta": lambda p: Adadelta(p, lr=1.0),
            "Adam": lambda p: Adam(p, lr=0.05), "AdamW": lambda p: AdamW(p, lr=0.05)}


def verify_race(result) -> None:
    """Every racer stayed finite and ended below its start."""
    import numpy as np

    for entry in result.leaderboard:
        losses = np.asarray(result.losses[entry.name], dtype=float)
        if entry.diverged or not np.all(np.isfinite(losses)):
            raise Failed(f"racer {entry.name} diverged")
        if not losses[-1] < losses[0]:
            raise Failed(f"racer {entry.name} did not go downhill (loss {losses[0]:.6g} -> {losses[-1]:.6g})")


def bench_race(steps: int = 500, repeats: int = 5, racers: dict | None = None) -> list[dict]:
    race = _race_function()
    racers = default_racers() if racers is None else racers
    verify_race(race("rosenbrock", racers, steps=steps))  # also the warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = race("rosenbrock", racers, steps=steps)
        times.append(1000 * (time.perf_counter() - start))
        verify_race(result)
    return [row(f"optimizer race: {len(racers)} optimizers x {steps} steps on Rosenbrock", statistics.median(times),
                "ms", 100.0)]


# --- grading -----------------------------------------------------------------------------------------------------


def unit_folder(unit: int) -> Path:
    found = sorted((ROOT / "units").glob(f"{unit:02d}-*"))
    if not found:
        raise Failed(f"no folder units/{unit:02d}-* for Unit {unit}")
    return found[0]


def course_units() -> list[int]:
    return sorted(int(p.name[:2]) for p in (ROOT / "units").glob("[0-9][0-9]-*") if p.is_dir())


def plant_wrong_answer(folder: Path, ex_id: str, function: str) -> Path:
    """Make one exercise wrong in a copy of the instructor notebooks: its cell ends by redefining the function."""
    import re

    import nbformat

    header = re.compile(rf"^#\s*Exercise\s+{re.escape(ex_id)}\s*:", re.MULTILINE)
    check = re.compile(rf"""\bcheck\(\s*["']{re.escape(ex_id)}["']""")
    for path in sorted(folder.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        for k, cell in enumerate(code):
            if header.search(cell.source) or (k + 1 < len(code) and check.search(code[k + 1].source)):
                cell.source += (f"\n\n\ndef {function}(*args, **kwargs):  # a wrong answer planted by the benchmark\n"
                                "    return float(\"nan\")\n")
                nbformat.write(nb, path)
                return path
    raise Failed(f"exercise {ex_id}: no exercise cell in the released instructor notebooks of {folder.name}")


def exercise_sources(folder: Path) -> dict:
    """``{exercise id: the source of its '# Exercise N.k' cell}`` in the notebooks under ``folder``."""
    import nbformat

    found = {}
    for path in sorted(folder.rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            match = re.match(r"#\s*Exercise\s+(\d+\.\d+)\s*:", cell.source) if cell.cell_type == "code" else None
            if match:
                found[match.group(1)] = cell.source
    return found


def make_submissions(unit: int, n: int, dest: Path) -> dict:
    """n submissions in ``dest/subs``, cycling complete / untouched / partly wrong; returns name -> expectation.

    An expectation is ``(kind, status, scores)`` with ``scores`` mapping each exercise id to 0 or 1.
    """
    import shutil

    from dlcourse.grading.grade import unit_exercises
    from dlcourse.grading.release import release

    exercises = unit_exercises(unit)
    ids = list(exercises)
    release(unit_folder(unit), dest / "rel")
    # Plant the wrong answer only where no other exercise's solution calls that function (1.3 reuses 1.2's sigmoid:
    # breaking 1.2 rightly breaks 1.3 too, which this expectation would not foresee).
    sources = exercise_sources(dest / "rel" / "instructor")
    standalone = [e for e in ids if not any(re.search(rf"\b{re.escape(exercises[e].name)}\s*\(", sources.get(o, ""))
                                            for o in ids if o != e)]
    expected = {}
    for i in range(n):
        kind = ("complete", "untouched", "partly wrong")[i % 3]
        name = f"student{i:02d}"
        shutil.copytree(dest / "rel" / ("student" if kind == "untouched" else "instructor"), dest / "subs" / name)
        scores = {e: (0.0 if kind == "untouched" else 1.0) for e in ids}
        if kind == "partly wrong":
            wrong = standalone[(i // 3) % len(standalone)]
            plant_wrong_answer(dest / "subs" / name, wrong, exercises[wrong].name)
            scores[wrong] = 0.0
        expected[name] = (kind, "not attempted" if kind == "untouched" else "graded", scores)
    return expected


def verify_grades(grades, expected: dict) -> list[str]:
    """What is wrong with the grades, one line per submission graded wrongly (empty when all are right)."""
    got = {g.name: g for g in grades}
    problems = []
    for name, (kind, status, scores) in expected.items():
        g = got.get(name)
        if g is None:
            problems.append(f"{name} ({kind}): no grade")
            continue
        wrong = [f"{e} scored {g.exercises[e].score if e in g.exercises else 'nothing'}, expected {s:g}"
                 for e, s in scores.items() if e not in g.exercises or abs(g.exercises[e].score - s) > 1e-6]
        if g.status != status or wrong:
            why = f": {g.reason}" if getattr(g, "reason", "") else ""
            problems.append(f"{name} ({kind}): status {g.status!r}{why}, expected {status!r}"
                            + (f"; {'; '.join(wrong[:2])}" if wrong else ""))
    extra = sorted(set(got) - set(expected))
    if extra:
        problems.append(f"rows for submissions that do not exist: {extra[:3]}")
    return problems


def bench_grading(unit: int = 1, n: int = GRADING_SUBMISSIONS, grade_fn=None, sandbox: bool | None = None,
                  target: float = GRADING_TARGET_S) -> list[dict]:
    """Grade n submissions of one unit (complete, untouched, partly wrong), 2 at a time; check every grade."""
    import tempfile

    from dlcourse.grading.sandbox import have_bubblewrap

    name = f"grading {n} Unit {unit} submissions (sandboxed, 2 in parallel)"
    if sandbox is None and not have_bubblewrap():
        raise NotRun("bubblewrap is not installed (apt-get install bubblewrap): the grading rows time the sandbox")
    if grade_fn is None:
        from dlcourse.grading.grade import grade as grade_fn
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        expected = make_submissions(unit, n, tmp)
        start = time.perf_counter()
        kwargs = {} if sandbox is None else {"sandbox": sandbox}
        grades = grade_fn([str(tmp / "subs")], unit, tmp / "out", jobs=2, progress=False, **kwargs)
        seconds = time.perf_counter() - start
    problems = verify_grades(grades, expected)
    if problems:
        return [failed_row(name, f"{len(problems)} of {n} submissions graded wrongly, e.g. " + " | ".join(problems[:3]),
                           "s", target)]
    return [row(name, seconds, "s", target)]


# --- course budget -----------------------------------------------------------------------------------------------


def _timed(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> tuple[float, str]:
    """Run a command, return (seconds, its pytest summary or last line); raise Failed if it fails."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = (proc.stdout + proc.stderr).strip().splitlines() or [""]
    summary = next((ln for ln in reversed(lines) if " passed" in ln or " failed" in ln), lines[-1]).strip("= ")
    if proc.returncode != 0:
        raise Failed(f"{' '.join(map(str, cmd[-3:]))} exited {proc.returncode}: {summary[:300]}")
    if " failed" in summary or " error" in summary:
        raise Failed(f"{' '.join(map(str, cmd[-3:]))} reported {summary[:300]}")
    return seconds, summary


PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadfile"]


def bench_budget_nbval(paths: tuple = ("units",), target: float = 150.0) -> list[dict]:
    """Every notebook under nbval, as `make test` runs them (two workers)."""
    seconds, summary = _timed(PYTEST + ["--nbval-lax", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
                                        *map(str, paths)], env={"MPLBACKEND": "Agg"})
    if " passed" not in summary:
        raise Failed(f"nbval ran no notebook: {summary}")
    return [row(f"course budget: all notebooks under nbval, 2 workers ({summary})", seconds, "s", target)]


CHROMIUM = Path("/usr/bin/chromium")


def browser_prerequisites(site: Path = ROOT / "_build" / "html", chromium: Path = CHROMIUM) -> None:
    """Raise NotRun naming what the browser tests need and is missing."""
    import importlib.util

    if not (site / "index.html").exists():
        raise NotRun(f"the site is not built ({site.relative_to(ROOT) if site.is_relative_to(ROOT) else site}"
                     "/index.html is missing): run `make book` first")
    if not chromium.exists():
        raise NotRun(f"Chromium is not installed at {chromium} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        raise NotRun("playwright is not installed in this environment (make setup installs it)")


def bench_budget_browser() -> list[dict]:
    """The browser tests as `make test-browser` runs them (needs the built site and Chromium)."""
    browser_prerequisites()
    seconds, summary = _timed(PYTEST + ["-m", "browser", "tests/browser"], env={"CI": "1"})
    return [row(f"course budget: browser tests, JupyterLab (every notebook) and site ({summary})", seconds, "s",
                300.0)]


def bench_budget_ci() -> list[dict]:
    """`.ci/run` on a fresh clone of this repository's HEAD (installs .venv, builds the site, runs every test)."""
    import shutil
    import tempfile

    if not (ROOT / ".ci" / "run").exists() or not (ROOT / ".git").exists():
        raise NotRun("needs a git checkout with .ci/run")
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        _timed(["git", "clone", "--quiet", str(ROOT), str(clone)])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MPLBACKEND"))}
        seconds, summary = _timed(["bash", ".ci/run"], cwd=clone, env={**env, "CI": "1"})
        shutil.rmtree(clone, ignore_errors=True)
    return [row(f"course budget: .ci/run on a fresh clone ({summary})", seconds, "s", 1800.0)]


# --- the groups and the run --------------------------------------------------------------------------------------

NOTEBOOK_GROUPS = ("notebooks", "budget nbval", "budget browser")   # skipped by --skip-notebooks


def core_benchmarks() -> tuple[dict, dict]:
    groups = {"notebooks": bench_notebooks, "widgets": bench_widgets, "scalar engine": bench_scalar_engine,
              "race": bench_race}
    groups |= {f"grading unit {u}": partial(bench_grading, u) for u in course_units()}
    groups |= {"budget nbval": bench_budget_nbval, "budget browser": bench_budget_browser}
    return groups, {"budget ci": bench_budget_ci}   # ten minutes or more: only when named, or with --with-ci


def _broken(reason: str):
    """A group that could not be set up: running it fails with the reason (``.broken`` holds it too)."""
    def fn():
        raise Failed(reason)
    fn.broken = reason
    return fn


def discover(folder: Path = ROOT / "benchmarks") -> tuple[dict, dict]:
    """The ``BENCHMARKS`` and ``OPT_IN`` dicts of every ``bench_*.py`` in ``folder`` (see the module docstring)."""
    import importlib.util

    found, opt_in = {}, {}
    for path in sorted(folder.glob("bench_*.py")):
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            tables = [(getattr(module, "BENCHMARKS", None), found), (getattr(module, "OPT_IN", {}), opt_in)]
            if not isinstance(tables[0][0], dict):
                raise TypeError("it defines no BENCHMARKS dict {group name: function}")
        except Exception as exc:  # noqa: BLE001 - a broken module is a failed group, not a crashed run
            found[path.name] = _broken(f"cannot load {path.name}: {type(exc).__name__}: {exc}")
            continue
        for table, into in tables:
            for group, fn in (table or {}).items():
                if group in found or group in opt_in:
                    into[f"{group} ({path.name})"] = _broken(f"group name {group!r} is used twice; rename it")
                elif not callable(fn):
                    into[group] = _broken(f"{path.name}: BENCHMARKS[{group!r}] is not a function")
                else:
                    into[group] = fn
    return found, opt_in


def all_benchmarks() -> tuple[dict, dict]:
    groups, opt_in = core_benchmarks()
    more, more_opt_in = discover()
    for group in set(more) & set(groups):
        more[f"{group} (duplicate)"] = _broken(f"group name {group!r} is used by run.py already; rename it")
        del more[group]
    return groups | more, opt_in | more_opt_in


def run_group(group: str, fn, explicit: bool = False) -> list[dict]:
    """The group's rows, each checked; a failure or a missing prerequisite becomes a row saying so."""
    try:
        rows = fn()
        if not isinstance(rows, list):
            raise Failed(f"the benchmark returned {type(rows).__name__}, not a list of rows")
        rows = [normalize(r) for r in rows] or [failed_row(group, "the benchmark returned no row")]
    except NotRun as exc:
        rows = [failed_row(group, f"prerequisite missing: {exc}") if explicit else not_run_row(group, str(exc))]
    except Failed as exc:
        rows = [failed_row(group, str(exc))]
    except Exception as exc:  # noqa: BLE001 - the run goes on; the row says what broke
        rows = [failed_row(group, f"{type(exc).__name__}: {exc}")]
    return [{**r, "group": group} for r in rows]


def format_table(rows: list[dict]) -> str:
    width = max([len(r["name"]) for r in rows] + [9])
    lines = [f"{'benchmark':<{width}}  {'value':>10}  {'target':>8}  ok"]
    for r in rows:
        if r["status"] == "measured":
            line = (f"{r['name']:<{width}}  {r['value']:>8.3f} {r['unit']:<2} {'≤' + str(r['target']):>7}  "
                    f"{'yes' if r['ok'] else 'NO'}")
            lines.append(line + (f"  {reached_text(r['reached'])}" if r.get("reached") else ""))
        else:
            label = "FAILED" if r["status"] == "failed" else "not run"
            lines.append(f"{r['name']:<{width}}  {label:>10}  {'':>8}  {'NO' if label == 'FAILED' else '-'}  "
                         f"{r['reason']}")
    return "\n".join(lines)


def merge_results(previous: list[dict], rows: list[dict], known: set | None = None) -> list[dict]:
    """This run's rows, plus the previous rows of every group this run did not measure (of the ``known`` groups)."""
    measured = {r["group"] for r in rows if r["status"] != "not run"}
    kept = [{"status": "measured", **r} for r in previous if r.get("group") not in measured
            and (known is None or r.get("group") in known)]
    kept_groups = {r.get("group") for r in kept}
    return kept + [r for r in rows if r["group"] in measured or r["group"] not in kept_groups]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="run only the benchmark groups whose name contains this (a group named this "
                                       "way fails, rather than being skipped, when a prerequisite is missing)")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="skip the per-notebook timings and the course budget's nbval and browser runs")
    parser.add_argument("--with-ci", action="store_true", help="also run the opt-in groups: .ci/run on a fresh clone "
                                                               "(10+ minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--submissions", type=int, default=GRADING_SUBMISSIONS,
                        help=f"submissions per grading row (default {GRADING_SUBMISSIONS}; fewer for a quick check)")
    args = parser.parse_args(argv)
    if args.submissions < 1:
        parser.error(f"--submissions must be >= 1, got {args.submissions}")
    groups, opt_in = all_benchmarks()
    groups = {g: (partial(bench_grading, f.args[0], args.submissions) if g.startswith("grading unit ") else f)
              for g, f in groups.items()}
    if args.list:
        print("\n".join(list(groups) + [f"{g} (opt-in)" for g in opt_in]))
        return 0
    chosen = {g: f for g, f in groups.items() if not args.only or args.only in g}
    chosen |= {g: f for g, f in opt_in.items() if args.with_ci or args.only == g}   # opt-in: named in full
    if args.skip_notebooks:
        chosen = {g: f for g, f in chosen.items() if g not in NOTEBOOK_GROUPS}
    if not chosen:
        print(f"no benchmark group matches --only {args.only!r}; groups: {', '.join(list(groups) + list(opt_in))}",
              file=sys.stderr)
        return 2
    rows = []
    for group, fn in chosen.items():
        print(f"running {group} …", file=sys.stderr, flush=True)
        gc.collect()
        gc.freeze()  # objects left by earlier groups should not slow this group's garbage collections
        rows += run_group(group, fn, explicit=bool(args.only))
    print(format_table(rows))
    previous = json.loads(args.out.read_text()) if args.out.exists() else []
    known = set(groups) | set(opt_in)   # rows of groups that no longer exist (renamed, removed) are dropped
    args.out.write_text(json.dumps(merge_results(previous, rows, known), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        print(f"{len(failed)} row(s) FAILED: their work did not verify (see the reasons above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
