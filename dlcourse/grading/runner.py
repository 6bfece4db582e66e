"""Runs inside the sandbox: execute one student notebook, then call its exercise functions on the given inputs.

Started by :mod:`dlcourse.grading.sandbox` with ``dlcourse`` imported from the *view* (see
:mod:`dlcourse.grading.library`): in this process the library's implementations are absent, so whatever the
student's code does here — call the library directly, from a thread, a child process or through its source — it
cannot reach the reference of an exercise. Reads one JSON job from standard input before any student code runs::

    {"path": notebook, "cell_seconds": 30, "call_seconds": 10,
     "exercises": {"1.2": {"name": "sigmoid", "cases": [...]}}}

and writes JSON lines to the file descriptor it was started with as standard output (the student's prints go
to /dev/null)::

    {"ready": ..., "dlcourse": path, "numpy": path}     trusted setup done, no student code has run yet
    {"cells": [...]}                                    what each cell did
    {"exercise": id, "found": bool}                     per exercise, then one line per test case:
    {"exercise": id, "case": k, "status": "ok", "outputs": {...}}   (or "error", "not attempted", "library", ...)
    {"exercise": id, "end": "done" | "timeout" | "crashed", "case": k, "detail": ...}
    {"done": true}

Each exercise's cases run in a fresh process forked after the cells ran, one case after the other, each within
``call_seconds`` (a soft alarm inside, a kill from here after one more second): a function that loops, crashes
or exhausts memory costs its own exercise only. Nothing here is trusted by the grader: these lines carry only the
function's outputs for inputs the grader drew; the grader compares them with the reference outside.
"""

from __future__ import annotations

import ast
import json
import os
import select
import signal
import sys
import time

MAX_LINE = 16 << 20
MAX_VALUES = MAX_LINE // 20   # a number takes about 20 bytes of JSON: more values than this cannot fit in a line
ABSENT_MODULES = ("torch", "torchgen", "functorch", "scipy", "sklearn", "jax", "tensorflow", "keras")
REFUSED_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile",
                  "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.addressof", "ctypes.cdata",
                  "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames")


class CellTimeout(BaseException):
    """Raised by the alarm in a cell or call that runs too long (a BaseException: `except Exception` misses it)."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def _take_stdout() -> int:
    """Keep the real standard output for the report; the student's prints and errors go to /dev/null."""
    fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    return fd


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _emit(fd: int, obj: dict) -> None:
    _write_all(fd, (json.dumps(obj, allow_nan=False) + "\n").encode())


def code_cells(path: str) -> list[str]:
    """The notebook's code cells as Python: magics and shell escapes (``%``, ``!``) dropped (there is no IPython)."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = []
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            cells.append("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))))
    return cells


def run_cells(cells: list[str], namespace: dict, seconds: float, main_pid: int) -> list[str]:
    """Run each cell statement by statement: a failing statement (say, a demo that needs PyTorch, absent here) is
    skipped and the rest of its cell still runs, so one missing library call does not hide the functions after it.
    A cell stops at its time limit."""
    log = []
    for i, src in enumerate(cells):
        try:
            statements = ast.parse(src, f"<cell {i}>").body
        except SyntaxError as exc:
            log.append(f"SyntaxError: {exc.msg} (line {exc.lineno})")
            continue
        errors = []
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            for stmt in statements:
                try:
                    exec(compile(ast.Module([stmt], []), f"<cell {i}>", "exec"), namespace)
                except CellTimeout:
                    raise
                except BaseException as exc:  # noqa: BLE001 - a student's error must not stop the grading
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                if os.getpid() != main_pid:
                    os._exit(0)  # a process the student's code forked never goes on to report
        except CellTimeout:
            errors.append(f"stopped after {seconds:g} s")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        log.append("; ".join(errors) or "ok")
    if os.getpid() != main_pid:
        os._exit(0)
    return log


def _classify(exc: BaseException, absent_types: tuple) -> dict:
    """A call's exception as a report: the library or a refused operation named, or the error itself."""
    library_absent, refused, bad_return = absent_types
    seen = exc
    for _ in range(10):   # the student's code may have wrapped it: look along the chain
        if isinstance(seen, library_absent):
            return {"status": "library", "name": seen.name}
        if isinstance(seen, ModuleNotFoundError) and (seen.name or "").split(".")[0] in ABSENT_MODULES:
            return {"status": "library", "name": seen.name.split(".")[0]}
        if isinstance(seen, refused):
            return {"status": "refused", "what": str(seen)}
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            break
    if isinstance(exc, bad_return):
        return {"status": "bad return", "error": str(exc)[:300]}
    if isinstance(exc, MemoryError):
        return {"status": "error", "error": "MemoryError: ran out of memory"}
    return {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def _call_cases(w: int, ex_id: str, fn, spec: dict, trusted: dict) -> None:
    """In the forked process: run every case, one line each, then exit."""
    signal.signal(signal.SIGALRM, _on_alarm)
    for k, case in enumerate(spec["cases"]):
        trusted["called"].clear()
        trusted["setitimer"](signal.ITIMER_REAL, spec["call_seconds"])
        try:
            outputs = trusted["as_outputs"](spec["run"](fn, case), spec["outputs"])
            values = sum(int(getattr(v, "size", 1)) for v in outputs.values())
            if values > MAX_VALUES:   # refused before the (slow) encoding: the line could not carry it anyway
                line = {"status": "error", "error": f"returned more than {MAX_LINE >> 20} MB of output "
                                                    f"({values:,} numbers)"}
            else:
                line = {"status": "ok", "outputs": trusted["encode"](outputs)}
        except CellTimeout:
            line = {"status": "timeout"}
        except NotImplementedError:
            line = {"status": "not attempted"}
        except BaseException as exc:  # noqa: BLE001
            line = _classify(exc, trusted["absent_types"])
        finally:
            trusted["setitimer"](signal.ITIMER_REAL, 0)
        line |= {"exercise": ex_id, "case": k, "library_calls": sorted(set(trusted["called"]))[:5]}
        try:
            _emit(w, line)
        except (TypeError, ValueError) as exc:   # outputs that JSON cannot carry
            _emit(w, {"exercise": ex_id, "case": k, "status": "error", "error": f"unreadable output ({exc})"})
    os._exit(0)


def _wait_for_cases(r: int, pid: int, out: int, ex_id: str, n: int, seconds: float) -> dict:
    """Forward the child's lines; kill it when a case takes longer than ``seconds`` + 1; say how it ended."""
    buffer, k = b"", 0
    deadline = time.monotonic() + seconds + 1.0
    while k < n:
        ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"end": "timeout", "case": k}
        chunk = os.read(r, 1 << 16)
        if not chunk:
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                detail = f"killed by signal {os.WTERMSIG(status)}"
            else:
                detail = f"exit code {os.WEXITSTATUS(status)}"
            return {"end": "crashed", "case": k, "detail": detail}
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            if len(raw) > MAX_LINE:   # an enormous output costs its own test case, not the notebook's other exercises
                raw = json.dumps({"exercise": ex_id, "case": k, "status": "error",
                                  "error": f"returned more than {MAX_LINE >> 20} MB of output"}).encode()
            _write_all(out, raw + b"\n")
            k += 1
            deadline = time.monotonic() + seconds + 1.0
    os.waitpid(pid, 0)
    return {"end": "done", "case": k}


def _other_processes() -> list[int]:
    """In the sandbox's own PID namespace (the runner is process 2 under bubblewrap): every other process;
    elsewhere, the runner's descendants only."""
    me = os.getpid()
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parents[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    if os.environ.get("DLCOURSE_SANDBOX") == "bwrap" and me == 2:
        return [pid for pid in parents if pid not in (1, me)]
    victims, frontier = [], [me]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier and pid not in victims]
        victims += children
        frontier = children
    return victims


def end_other_processes(rounds: int = 50) -> None:
    """Kill what the student's code left running (a fork bomb's children hold the process limit), and reap it.

    A fork bomb's processes fork between one listing and the kill: list and kill again until none is left
    (killed processes fork no more, so the rounds converge)."""
    for _ in range(rounds):
        victims = _other_processes()
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not victims:
            return
        time.sleep(0.01)


def _fork(trusted: dict, attempts: int = 5) -> int:
    """Fork for one exercise; when the process limit is still held by dying processes, clear them and retry."""
    for attempt in range(attempts):
        try:
            return trusted["fork"]()
        except OSError:
            if attempt == attempts - 1:
                raise
            end_other_processes()
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def grade_exercise(out: int, ex_id: str, spec: dict, namespace: dict, trusted: dict) -> None:
    fn = namespace.get(spec["name"])
    _emit(out, {"exercise": ex_id, "found": callable(fn)})
    if not callable(fn):
        return
    end_other_processes()
    r, w = os.pipe()
    try:
        pid = _fork(trusted)
    except OSError as exc:
        os.close(r)
        os.close(w)
        _emit(out, {"exercise": ex_id, "end": "crashed", "case": 0,
                    "detail": f"no process could be started for it: {exc.strerror}"})
        return
    if pid == 0:
        os.close(r)
        try:
            _call_cases(w, ex_id, fn, spec, trusted)
        finally:
            os._exit(0)
    os.close(w)
    try:
        end = _wait_for_cases(r, pid, out, ex_id, len(spec["cases"]), spec["call_seconds"])
    finally:
        os.close(r)
    _emit(out, {"exercise": ex_id, **end})


def _audit(event: str, args) -> None:
    """Defence in depth only (the boundary is what the file system shows): refuse processes, ctypes, gc walks."""
    if event.startswith(REFUSED_EVENTS):
        from dlcourse.grading.absent import NotAvailableWhileGrading

        raise NotAvailableWhileGrading(f"{event} is not available while grading")


def _install_placeholders(absent) -> None:
    """``import torch`` (or scipy, ...) gives a placeholder: importing works, so library modules and notebook cells
    that import them still load, but calling anything in it raises ``LibraryCodeAbsent`` naming what was called."""
    import importlib.abc
    import importlib.util
    import types

    class Placeholder(types.ModuleType):
        def __getattr__(self, attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            child = Placeholder(f"{self.__name__}.{attr}")
            object.__setattr__(self, attr, child)
            return child

        def __call__(self, *args, **kwargs):
            absent.absent(self.__name__)

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ABSENT_MODULES:
                return importlib.util.spec_from_loader(name, self, is_package=True)
            return None

        def create_module(self, spec):
            return Placeholder(spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


def _prepare_matplotlib() -> None:
    """A private config folder, so matplotlib does not warn (fonts are found again: the first plot costs a second)."""
    os.makedirs(os.environ.get("MPLCONFIGDIR", "/tmp/matplotlib"), exist_ok=True)


def main() -> None:
    out = _take_stdout()
    job = json.loads(sys.stdin.readline())
    sys.stdin.close()
    try:
        import numpy as np

        import dlcourse
        from dlcourse.grading import absent

        _install_placeholders(absent)
        from dlcourse.checks.exercise import BadReturn, as_outputs
        from dlcourse.checks.registry import EXERCISES, _load_all
        from dlcourse.grading.protocol import decode, encode

        _load_all()
        called: list = []
        original_absent = absent.absent

        def record_and_raise(name):
            called.append(name)
            original_absent(name)

        absent.absent = record_and_raise
        specs = {}
        for ex_id, spec in job["exercises"].items():
            ex = EXERCISES[ex_id]
            inside = getattr(ex.run, "inside", None)   # a split adapter: only its calling part runs here
            specs[ex_id] = {"name": spec["name"], "cases": decode(spec["cases"]), "run": inside or ex.run,
                            "outputs": () if inside else ex.outputs, "call_seconds": float(job["call_seconds"])}
        # Everything trusted is held before the student's code runs; later monkeypatching changes nothing here.
        trusted = {"as_outputs": as_outputs, "encode": encode, "fork": os.fork, "setitimer": signal.setitimer,
                   "called": called, "absent_types": (absent.LibraryCodeAbsent, absent.NotAvailableWhileGrading,
                                                       BadReturn)}
        _prepare_matplotlib()
        _emit(out, {"ready": True, "dlcourse": dlcourse.__file__, "numpy": np.__file__,
                    "python": sys.version.split()[0]})
    except BaseException as exc:  # noqa: BLE001 - the grader's own fault: say so, before any student code
        _emit(out, {"setup_error": f"{type(exc).__name__}: {exc}"})
        os._exit(3)
    signal.signal(signal.SIGALRM, _on_alarm)
    for name in list(sys.modules):
        if name.split(".")[0] in ABSENT_MODULES:
            del sys.modules[name]
    sys.addaudithook(_audit)
    main_pid = os.getpid()
    try:
        cells = code_cells(job["path"])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        _emit(out, {"cells": [], "unreadable": f"{type(exc).__name__}: {exc}"})
        cells = []
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    log = run_cells(cells, namespace, float(job["cell_seconds"]), main_pid)
    _emit(out, {"cells": log})
    for ex_id, spec in specs.items():
        grade_exercise(out, ex_id, spec, namespace, trusted)
    _emit(out, {"done": True})
    os._exit(0)


if __name__ == "__main__":
    main()
