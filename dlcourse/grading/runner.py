"""Runs inside the sandbox: execute a student's notebook, then call its exercise functions.

Reads one JSON job from standard input before any student code runs::

    {"cell_timeout": seconds,
     "notebooks": [{"path": path,
                    "exercises": {"1.3": {"name": "sigmoid", "cases": [...], "forbidden": [...]}}}]}

Each notebook runs in a fresh namespace, one after the other, in this one process.

and writes one JSON result to the file descriptor it was started with as standard output,
which it keeps to itself: the student's prints go elsewhere and cannot pose as a result.
The result holds only plain arrays (the function's outputs) and what happened; the
comparison with the reference and the scoring happen outside, in the grader.
"""

from __future__ import annotations

import json
import os
import signal
import sys


class CellTimeout(BaseException):
    """Raised by the alarm in a cell that runs too long (a BaseException, so `except Exception` misses it)."""


def _take_stdout() -> int:
    fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    return fd


def _code_cells(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            # No IPython here: drop magics and shell escapes instead of running them.
            cells.append("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))))
    return cells


def _on_alarm(signum, frame):
    raise CellTimeout()


def _resolve(dotted: str):
    """The code object behind a dotted name such as ``dlcourse.graph.Value.__mul__`` (None if absent)."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return getattr(obj, "__code__", None)
    return None


class Tracer:
    """Records calls into forbidden code or into torch while a graded function runs."""

    def __init__(self, forbidden_codes: dict, protected_dirs: tuple):
        self.forbidden_codes = forbidden_codes
        self.protected_dirs = protected_dirs
        self.violations: list[str] = []

    def __call__(self, frame, event, arg):
        if event == "call":
            name = self.forbidden_codes.get(frame.f_code)
            if name is None and frame.f_code.co_filename.startswith(self.protected_dirs):
                name = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_code.co_name}"
            if name and name not in self.violations:
                self.violations.append(name)
        elif event == "c_call":
            module = getattr(arg, "__module__", None) or type(getattr(arg, "__self__", None)).__module__ or ""
            if module.startswith("torch") and "torch" not in self.violations:
                self.violations.append("torch")


def _traced(fn, tracer: Tracer):
    def wrapper(*args, **kwargs):
        sys.setprofile(tracer)
        try:
            return fn(*args, **kwargs)
        finally:
            still_ours = sys.getprofile() is tracer
            sys.setprofile(None)
            if not still_ours and "the call tracer was removed" not in tracer.violations:
                tracer.violations.append("the call tracer was removed")
    return wrapper


MAIN_PID = os.getpid()


def _run_cells(cells: list[str], namespace: dict, seconds: int) -> list[str]:
    log = []
    for i, src in enumerate(cells):
        if os.getpid() != MAIN_PID:
            os._exit(0)  # a process the student's code forked never goes on to report
        signal.alarm(seconds)
        try:
            exec(compile(src, f"<cell {i}>", "exec"), namespace)
            log.append("ok")
        except CellTimeout:
            log.append("timeout")
        except BaseException as exc:  # noqa: BLE001 - a student's error must not stop the grading
            log.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            signal.alarm(0)
    if os.getpid() != MAIN_PID:
        os._exit(0)
    return log


def _call(adapter, fn, case, tracer, seconds, as_outputs, encode, set_profile) -> dict:
    signal.alarm(seconds)
    try:
        out = as_outputs(adapter(_traced(fn, tracer), case))
        return {"status": "ok", "outputs": encode(out), "violations": tracer.violations}
    except NotImplementedError:
        return {"status": "not attempted", "violations": tracer.violations}
    except CellTimeout:
        return {"status": "error", "error": "took too long (time limit per call)", "violations": tracer.violations}
    except BaseException as exc:  # noqa: BLE001
        return {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                "violations": tracer.violations}
    finally:
        signal.alarm(0)
        set_profile(None)


def main() -> None:
    job = json.loads(sys.stdin.readline())
    out_fd = _take_stdout()
    sys.stdin.close()

    import dlcourse
    from dlcourse.checks import get_exercise
    from dlcourse.checks.exercise import as_outputs
    from dlcourse.grading.protocol import decode, encode

    # Everything trusted is fetched before the student's code runs; later monkeypatching changes nothing here.
    all_ids = [ex_id for nb in job["notebooks"] for ex_id in nb["exercises"]]
    adapters = {ex_id: get_exercise(ex_id).run for ex_id in all_ids}
    forbidden = {ex_id: {code: name for name in spec.get("forbidden", []) if (code := _resolve(name))}
                 for nb in job["notebooks"] for ex_id, spec in nb["exercises"].items()}
    pkg_dir = os.path.dirname(dlcourse.__file__)
    protected = (os.path.join(pkg_dir, "checks") + os.sep, os.path.join(pkg_dir, "grading") + os.sep)
    write, dumps, set_profile = os.write, json.dumps, sys.setprofile
    import matplotlib

    matplotlib.use("Agg")
    os.environ["DLCOURSE_HEADLESS"] = "1"  # widgets are not looked at here: skip their computing and drawing
    signal.signal(signal.SIGALRM, _on_alarm)
    reports = []
    for nb in job["notebooks"]:
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        cells = _run_cells(_code_cells(nb["path"]), namespace, int(job["cell_timeout"]))
        results = {}
        for ex_id, spec in nb["exercises"].items():
            fn = namespace.get(spec["name"])
            entry = {"found": callable(fn), "cases": []}
            if callable(fn):
                for case in decode(spec["cases"]):
                    entry["cases"].append(_call(adapters[ex_id], fn, case, Tracer(forbidden[ex_id], protected),
                                                int(job["cell_timeout"]), as_outputs, encode, set_profile))
            results[ex_id] = entry
        reports.append({"cells": cells, "exercises": results})
    payload = dumps({"notebooks": reports}, allow_nan=False)
    write(out_fd, payload.encode())
    os.close(out_fd)
    os._exit(0)


if __name__ == "__main__":
    main()
