r"""Which of the library's functions are absent when an exercise is graded, and noticing calls to them in a check.

**One definition of "absent".** The grader (:mod:`dlcourse.grading.library`) runs student code against a copy of
the package in which every function the checking harness does not need has no body. What the harness needs is
found here, by :func:`trace`: a fresh interpreter imports the package's modules and runs every registered
exercise's adapter on its reference under :func:`sys.settrace`, recording each function of the package that runs.
A call made while the reference (or, for a class, one of its own methods) is on the stack counts as the
reference's; every other call is the harness's (import-time code, the adapters, the scaffolding an exercise hands
in, see :data:`STAND_INS`) and is *kept*. Every other function of the package is **absent** while grading.
The grader builds its sandbox from :func:`run_trace`; :func:`check` warns from the same result (:func:`absent_keys`).

**In the notebook.** :func:`watch` runs the student's function with :func:`sys.settrace` (and
:func:`threading.settrace` for threads it starts; the profiler hooks instead when a debugger already traces) and collects the *outermost* calls into absent functions of the
package: the function the student called, not what it calls in turn. The trace is computed lazily, once per
process and package version, at the first check (a few seconds; cached on disk per package version, so later
kernels start at once); each check then pays only the profiler while the student's function runs. Nothing of this
runs when ``DLCOURSE_GRADING=1`` (the grader judges by absence itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import dlcourse

PACKAGE_DIR = Path(dlcourse.__file__).resolve().parent
# Not imported while tracing: their import-time code is not kept, so importing them inside the sandbox fails and
# notebook cells that use them are skipped (widgets and demos are not graded). The grader imports no widget code.
NOT_TRACED = ("dlcourse.widgets", "dlcourse.explore", "dlcourse.grading", "dlcourse.doctor", "dlcourse.cli",
              "dlcourse.__main__")


class TraceError(RuntimeError):
    """Tracing the checking harness failed, or found the harness implementing an exercise itself."""


# -- stand-ins: what a student's answer uses of the library, for exercises that hand in scaffolding ---------------
def _stand_in_optimizer():
    """A class written as the students write 3.6's ``MyAdam``: what it inherits from ``Optimizer`` stays available."""
    from dlcourse.optim import Optimizer

    class StandIn(Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

        def update(self, param, grad, state):
            param -= self.lr * grad

    return StandIn


def _stand_in_gradient():
    """A function written as the students write 3.3's ``nesterov_step``: it calls the ``grad_fn`` it is handed."""
    def nesterov_step(theta, v, grad_fn, lr, momentum):
        return theta - lr * grad_fn(theta), v
    return nesterov_step


STAND_INS = {"3.3": _stand_in_gradient, "3.6": _stand_in_optimizer}


# -- tracing (runs in a fresh interpreter, see run_trace) -------------------------------------------------------------
def _key(code) -> tuple[str, int, str] | None:
    path = os.path.realpath(code.co_filename)
    if not path.startswith(str(PACKAGE_DIR) + os.sep):
        return None
    return os.path.relpath(path, PACKAGE_DIR), code.co_firstlineno, code.co_name


def _own_codes(obj) -> set:
    """The code objects that *are* ``obj``: a function's, or every method defined in a class's own body."""
    obj = getattr(obj, "__wrapped__", obj)
    if isinstance(obj, type):
        codes = set()
        for member in vars(obj).values():
            for f in (member, getattr(member, "__func__", None), getattr(member, "fget", None)):
                if hasattr(f, "__code__"):
                    codes.add(f.__code__)
        return codes
    return {obj.__code__} if hasattr(obj, "__code__") else set()


def _resolve(dotted: str):
    """The object named ``dlcourse.module.Class.method`` (None when it does not exist)."""
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
        return obj
    return None


class _Recorder:
    """Trace function: records the package's functions that run, split by whether a reference is on the stack.

    Installed with :func:`sys.settrace`: it sees every Python call (not C calls, not lines: it returns a local
    tracer only for the reference's own frames, to see them return), which keeps tracing fast.
    """

    def __init__(self):
        self.reference_codes: set = set()
        self.depth = 0
        self.outside: set = set()
        self.inside: set = set()
        self._keys: dict = {}

    def __call__(self, frame, event, arg):
        code = frame.f_code
        key = self._keys.get(code, 0)
        if key == 0:
            key = self._keys[code] = _key(code)
        entering = code in self.reference_codes
        if entering:
            self.depth += 1
        if key:
            (self.inside if self.depth else self.outside).add(key)
        return self._leave if entering else None

    def _leave(self, frame, event, arg):
        if event == "return":
            self.depth -= 1
        return self._leave


def _import_everything() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(dlcourse.__path__, "dlcourse."):
        if not mod.name.startswith(NOT_TRACED):
            try:
                importlib.import_module(mod.name)
            except Exception:  # noqa: BLE001 - a module that cannot be imported here is absent in the sandbox too
                pass


def trace() -> dict:
    """Run in a fresh interpreter: what to keep, and each exercise's own code (for the checks and the tests)."""
    import numpy as np

    rec = _Recorder()
    sys.settrace(rec)
    try:
        _import_everything()
        from dlcourse.checks.registry import EXERCISES, _load_all

        _load_all()
    finally:
        sys.settrace(None)
    inside_of, problems = {}, []
    for ex_id, ex in sorted(EXERCISES.items()):
        cases = ex.cases(np.random.default_rng(0))
        rec.reference_codes = _own_codes(ex.reference)
        rec.inside = set()
        sys.settrace(rec)
        try:
            for case in cases:
                ex.run(ex.reference, case)
            if ex_id in STAND_INS:
                rec.reference_codes = set()
                ex.run(STAND_INS[ex_id](), cases[0])
        finally:
            sys.settrace(None)
        inside_of[ex_id] = rec.inside
    keep = rec.outside
    for ex_id, ex in sorted(EXERCISES.items()):
        own = {k for k in map(_key, _own_codes(ex.reference)) if k}
        named = set()
        for dotted in ex.forbidden:
            obj = _resolve(dotted)
            if obj is None:
                problems.append(f"exercise {ex_id}: forbidden name {dotted} does not exist")
            named |= {k for k in map(_key, _own_codes(obj)) if k}
        for k in sorted((own | named) & keep):
            problems.append(f"exercise {ex_id}: the harness itself runs {k[0]}:{k[1]} {k[2]}, which implements the "
                            f"exercise; change the adapter so that it does not")
    return {"keep": sorted(keep), "inside": {i: sorted(v) for i, v in inside_of.items()}, "problems": problems}


def package_digest() -> str:
    h = hashlib.sha256()
    for src in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(str(src.relative_to(PACKAGE_DIR)).encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def run_trace(strict: bool = True) -> dict:
    """Trace in a fresh interpreter that imports this very package (whatever the working directory or install).

    Raises :class:`TraceError` when tracing fails or (``strict``, as the grader wants) when the harness implements an
    exercise itself; the check warns from the kept set either way.
    """
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import dlcourse; "
            "assert dlcourse.__file__.startswith(sys.argv[1]), dlcourse.__file__; "
            "from dlcourse.checks.library_use import trace; print(json.dumps(trace()))")
    env = {**os.environ, "DLCOURSE_HEADLESS": "1", "DLCOURSE_GRADING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(PACKAGE_DIR.parent)], capture_output=True,
                          text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise TraceError(f"tracing the checking harness failed (the grader's own fault, not a student's):\n"
                         f"{proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if strict and result["problems"]:
        raise TraceError("the checking harness implements an exercise itself:\n  " + "\n  ".join(result["problems"]))
    return result


# -- in the notebook: which calls of a student's function the grader would refuse ----------------------------------
_UNKNOWN = object()
_KEPT = _UNKNOWN        # the keys (file, first line, name) kept while grading; None when the trace failed
_lock = threading.Lock()
_SELF = os.path.relpath(os.path.realpath(__file__), PACKAGE_DIR)     # the watcher's own code is never reported


def _cache_file(digest: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlcourse" / f"kept-{digest}.json"


def kept_keys() -> frozenset | None:
    """The package's functions kept while grading, as ``(file, first line, name)``; None when unknown.

    Computed once per process (:func:`run_trace`, at the first call), remembered per package version in
    ``~/.cache/dlcourse`` for later kernels. Never raises: a check without this knowledge simply gives no warning.
    """
    global _KEPT
    with _lock:
        if _KEPT is _UNKNOWN:
            _KEPT = _load_kept()
        return _KEPT


def _load_kept() -> frozenset | None:
    try:
        path = _cache_file(package_digest())
    except OSError:
        return None
    keep = None
    try:
        keep = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    if not (isinstance(keep, list) and all(isinstance(k, list) and len(k) == 3 for k in keep)):
        try:
            keep = run_trace(strict=False)["keep"]
        except (TraceError, OSError, ValueError):
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(keep), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass     # an unwritable cache only costs the next kernel the trace
    return frozenset(tuple(k) for k in keep)


def enabled() -> bool:
    """Off while grading (``DLCOURSE_GRADING=1``): the grader removes the functions instead of watching for them."""
    return os.environ.get("DLCOURSE_GRADING") != "1"


_NAMES: dict = {}     # kept set -> {code object: dotted name or None}, shared by every check of the process
_SHORT: dict = {}     # dotted name -> the name without its module ("sigmoid", "Adam.update")


def short_name(dotted: str) -> str:
    """What a student would call the function a dotted name reported by :func:`watch` names: ``Adam.update``."""
    return _SHORT.get(dotted, dotted.rsplit(".", 1)[-1])


class _Watcher:
    """Profile function: the outermost calls into package functions that are not kept (absent while grading)."""

    def __init__(self, keep: frozenset):
        self.keep = keep
        self.found: dict[str, None] = {}      # dotted names, in the order first called
        self._absent = _NAMES.setdefault(keep, {})   # code -> dotted name, or None (kept, or not the package's)

    def _name(self, code, frame):
        try:
            name = self._absent[code]
        except KeyError:
            key = _key(code)
            name = None
            if key is not None and key not in self.keep and key[0] != _SELF and code.co_name != "<module>":
                module = frame.f_globals.get("__name__", "dlcourse")
                qualname = getattr(code, "co_qualname", code.co_name)
                name = f"{module}.{qualname}"
                _SHORT[name] = qualname
            self._absent[code] = name
        return name

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        name = self._absent[code] if code in self._absent else self._name(code, frame)
        if name is None:
            return
        back = frame.f_back
        if back is not None and self._name(back.f_code, back) is not None:
            return       # called by an absent function: the student called that one
        self.found.setdefault(name)


@contextmanager
def watch(names: list | None = None):
    """Collect, while the block runs, the outermost calls into functions absent while grading.

    Yields ``names`` (a new list by default), to which the end of the block (also when it raises) appends their
    dotted names (``dlcourse.activations.sigmoid``); nothing is added when grading, or when the trace is unavailable.
    """
    names = [] if names is None else names
    keep = kept_keys() if enabled() else None
    if keep is None:
        yield names
        return
    watcher = _Watcher(keep)
    # sys.settrace sees only Python calls (not every C call, as a profiler does): about half the cost. When a debugger
    # or coverage already traces, the profiler hook is used instead, so that they keep working inside the check.
    if sys.gettrace() is None:
        get, set_, thread_get, thread_set = sys.gettrace, sys.settrace, "gettrace", threading.settrace
    else:
        get, set_, thread_get, thread_set = sys.getprofile, sys.setprofile, "getprofile", threading.setprofile
    old = get()
    hook = "_trace_hook" if thread_get == "gettrace" else "_profile_hook"
    old_threads = getattr(threading, thread_get)() if hasattr(threading, thread_get) else getattr(threading, hook)
    thread_set(watcher)
    set_(watcher)
    try:
        yield names
    finally:
        set_(old)
        thread_set(old_threads)
        names.extend(watcher.found)
