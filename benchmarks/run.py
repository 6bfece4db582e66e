"""Speed targets of the course: prints a table and writes benchmarks/results.json.

Run by hand (not part of CI's pass/fail):
``python benchmarks/run.py [--only SUBSTRING] [--skip-notebooks] [--with-ci]``.
The "course budget" rows time the whole course: every notebook under nbval, the browser tests, and (opt-in)
``.ci/run`` on a fresh clone.
Each row is ``{name, value, unit, target, ok}``; ``target`` is an upper bound.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))

MICROGRAD_STEP_S = 0.8  # a micrograd-style engine's step on this machine, quiet (see issue 2)


def row(name: str, value: float, unit: str, target: float) -> dict:
    return {"name": name, "value": round(float(value), 4), "unit": unit, "target": target, "ok": value <= target}


def bench_notebooks() -> list[dict]:
    from execute_notebooks import execute, notebooks

    rows = []
    for nb in notebooks([str(ROOT / "units")]):
        copy = nb.with_suffix(".bench.ipynb")
        copy.write_bytes(nb.read_bytes())
        try:
            seconds = execute(copy)
        finally:
            copy.unlink(missing_ok=True)
        rows.append(row(f"notebook {nb.relative_to(ROOT / 'units')}", seconds, "s", 30.0))
    return rows


def widget_latency(demo, moves: list[tuple[str, object]], repeats: int = 3) -> float:
    """Median milliseconds from setting a control to the new PNG being ready."""
    times = []
    for _ in range(repeats):
        for name, value in moves:
            start = time.perf_counter()
            if name == "play":
                demo.play.value += 1
            else:
                demo.controls[name].value = value
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


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


def bench_widgets() -> list[dict]:
    rows = []
    for name, (factory, moves) in widget_cases().items():
        demo = factory()
        widget_latency(demo, moves[:1], repeats=1)  # warm up fonts and caches
        rows.append(row(f"widget update: {name}", widget_latency(demo, moves), "ms", 100.0))
    return rows


def bench_scalar_engine() -> list[dict]:
    from dlcourse import data
    from dlcourse.mlp import ScalarMLP, scalar_training_step

    import closure_engine

    d = data.make_moons(100, seed=0)
    net = closure_engine.mlp([2, 16, 16, 1])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        closure_engine.step(net, d.X, 2.0 * d.y - 1)
        times.append(time.perf_counter() - start)
    baseline = statistics.median(times)
    rows = [row("closure-based (micrograd-style) engine: the same step, for comparison", baseline, "s", 10.0)]
    for fused, label in ((True, "Value.dot neurons"), (False, "primitive + and * only")):
        model = ScalarMLP(2, [16, 16], 1, rng=0, fused=fused)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            scalar_training_step(model, d.X, 2.0 * d.y - 1, lr=0.05)
            times.append(time.perf_counter() - start)
        rows.append(row(f"scalar engine: one step of MLP(2, [16, 16], 1) on 100 points ({label})",
                        statistics.median(times), "s", min(MICROGRAD_STEP_S, baseline) / 2))
    return rows


def bench_race() -> list[dict]:
    from dlcourse.optim import SGD, Adagrad, Adadelta, Adam, AdamW, RMSprop
    from dlcourse.explore.race import race

    racers = {"SGD": lambda p: SGD(p, lr=1e-3, momentum=0.9), "Adagrad": lambda p: Adagrad(p, lr=0.5),
              "RMSprop": lambda p: RMSprop(p, lr=0.01), "Adadelta": lambda p: Adadelta(p, lr=1.0),
              "Adam": lambda p: Adam(p, lr=0.05), "AdamW": lambda p: AdamW(p, lr=0.05)}
    race("rosenbrock", racers, steps=500)  # warm up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        race("rosenbrock", racers, steps=500)
        times.append(1000 * (time.perf_counter() - start))
    return [row("optimizer race: 6 optimizers x 500 steps on Rosenbrock", statistics.median(times), "ms", 100.0)]


def bench_grading(n: int = 50) -> list[dict]:
    """Grade n Unit 1 submissions (a mix of complete, untouched and partly wrong ones), 2 at a time."""
    import shutil
    import tempfile

    from dlcourse.grading.grade import grade
    from dlcourse.grading.release import release

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        release(ROOT / "units", tmp / "rel")
        subs = tmp / "subs"
        for i in range(n):
            src = (tmp / "rel" / "instructor") if i % 3 else (tmp / "rel" / "student")
            dest = subs / f"student{i:02d}"
            shutil.copytree(src / "01-backprop", dest)
        start = time.perf_counter()
        grades = grade([str(subs)], 1, tmp / "out", jobs=2, progress=False)
        seconds = time.perf_counter() - start
    assert len(grades) == n
    return [row(f"grading {n} Unit 1 submissions (sandboxed, 2 in parallel)", seconds, "s", 300.0)]


def _timed(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> tuple[float, str]:
    """Run a command, return (seconds, the last line of its output); fail loudly if it fails."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = (proc.stdout + proc.stderr).strip().splitlines() or [""]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "\n".join(lines[-30:]))
    summary = next((ln for ln in reversed(lines) if " passed" in ln), lines[-1])
    return seconds, summary.strip("= ")


PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadfile"]


def bench_budget_nbval() -> list[dict]:
    """Every notebook under nbval, as `make test` runs them (two workers)."""
    seconds, summary = _timed(PYTEST + ["--nbval-lax", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "units"],
                              env={"MPLBACKEND": "Agg"})
    return [row(f"course budget: all notebooks under nbval, 2 workers ({summary})", seconds, "s", 150.0)]


def bench_budget_browser() -> list[dict]:
    """The browser tests as `make test-browser` runs them (needs the built site and Chromium)."""
    if not (ROOT / "_build" / "html" / "index.html").exists():
        raise RuntimeError("build the site first (make book): the browser tests load _build/html")
    seconds, summary = _timed(PYTEST + ["-m", "browser", "tests/browser"], env={"CI": "1"})
    return [row(f"course budget: browser tests, JupyterLab (every notebook) and site ({summary})", seconds, "s",
                300.0)]


def bench_budget_ci() -> list[dict]:
    """`.ci/run` on a fresh clone of this repository's HEAD (installs .venv, builds the site, runs every test)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        _timed(["git", "clone", "--quiet", str(ROOT), str(clone)])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MPLBACKEND"))}
        seconds, summary = _timed(["bash", ".ci/run"], cwd=clone, env={**env, "CI": "1"})
        shutil.rmtree(clone, ignore_errors=True)
    return [row(f"course budget: .ci/run on a fresh clone ({summary})", seconds, "s", 1800.0)]


BENCHMARKS = {"notebooks": bench_notebooks, "widgets": bench_widgets, "scalar engine": bench_scalar_engine,
              "race": bench_race, "grading": bench_grading,
              "budget nbval": bench_budget_nbval, "budget browser": bench_budget_browser}
OPT_IN = {"budget ci": bench_budget_ci}   # ten minutes or more: only with --only "budget ci" or --with-ci


def _unit_benchmarks() -> dict:
    """Benchmarks kept in benchmarks/bench_*.py (bench_unitN.py, bench_training.py), a BENCHMARKS dict each."""
    import importlib

    found = {}
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        found |= getattr(importlib.import_module(path.stem), "BENCHMARKS", {})
    return found


BENCHMARKS |= _unit_benchmarks()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only the benchmark groups whose name contains this")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="skip the per-notebook timings and the course budget's nbval and browser runs")
    parser.add_argument("--with-ci", action="store_true", help="also time .ci/run on a fresh clone (10+ minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args(argv)
    rows = []
    groups = BENCHMARKS | (OPT_IN if args.with_ci or (args.only and "ci" in args.only) else {})
    for group, fn in groups.items():
        if (args.only and args.only not in group) or (args.skip_notebooks and group in ("notebooks",
                                                                                         "budget nbval",
                                                                                         "budget browser")):
            continue
        print(f"running {group} …", file=sys.stderr, flush=True)
        gc.collect()
        gc.freeze()  # objects left by earlier groups should not slow this group's garbage collections
        rows += [{**r, "group": group} for r in fn()]
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>10}  {'target':>8}  ok")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']:>8.3f} {r['unit']:<2} {'≤' + str(r['target']):>7}  "
              f"{'yes' if r['ok'] else 'NO'}")
    if args.out.exists():  # keep the rows of groups this run did not measure (such as the opt-in CI timing)
        measured = {r["group"] for r in rows}
        kept = [r for r in json.loads(args.out.read_text()) if r.get("group") not in measured]
        rows = kept + rows
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
