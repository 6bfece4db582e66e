r"""The copy of ``dlcourse`` that graded code sees: the checking harness, and no implementation of anything else.

**The guarantee.** A process that runs student code imports ``dlcourse`` from a *view*: a copy of the package in
which the body of every function and method is replaced by a stub raising
:class:`~dlcourse.grading.absent.LibraryCodeAbsent`, except the functions the checking harness needs (what runs
when the exercise modules are imported and what the exercises' adapters run around the function they call) and
the scaffolding an exercise hands in (``Value`` for 1.4 and 1.5, the ``Optimizer`` base class for 3.6). The
references of the exercises, the library functions they call and any other library function that computes the
same thing are therefore neither loaded, importable nor readable there: calling them raises, reading their source
shows the stub. Exercise modules keep their names, classes and constants, so notebooks still import them.

**How the kept set is found.** Once per package version, a fresh interpreter imports the package's modules and
runs every registered exercise's adapter on its reference under :func:`sys.settrace`, recording each function
of the package that runs. A call made while the reference (or, for a class, one of its own methods) is on the
stack counts as the reference's; every other call is the harness's and is kept. For each exercise the tracer then
asserts that none of the reference's own code and none of its ``Exercise.forbidden`` names were kept (an adapter
that used the graded operation itself, such as ``*`` for 1.4, would fail here, not quietly weaken the grading).

The view lives in a temporary folder of the grading process (removed at exit); the sandbox mounts it read-only.
Without this module's view the grader does not run student code.
"""

from __future__ import annotations

import ast
import atexit
import compileall
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dlcourse

PACKAGE_DIR = Path(dlcourse.__file__).resolve().parent
# The grading code the runner needs, left verbatim in the view; the rest of dlcourse/grading is not in the view at
# all (the grader's probe holds a right answer, its stand-ins code that uses the scaffolding).
RUNNER_FILES = ("grading/__init__.py", "grading/absent.py", "grading/protocol.py", "grading/runner.py")
# Not imported while tracing: their import-time code is not kept, so importing them inside the sandbox fails and
# notebook cells that use them are skipped (widgets and demos are not graded). The grader imports no widget code.
NOT_TRACED = ("dlcourse.widgets", "dlcourse.explore", "dlcourse.grading", "dlcourse.doctor", "dlcourse.cli",
              "dlcourse.__main__")


class GraderSetupError(RuntimeError):
    """The grader cannot prepare a faithful sandbox: nothing is graded (the message names the cause and the fix)."""


# -- stand-ins: what a student's answer uses of the library, for exercises that hand in scaffolding ---------------
def _stand_in_optimizer():
    """A class written as the students write 3.6's ``MyAdam``: what it inherits from ``Optimizer`` stays available."""
    from dlcourse.optim import Optimizer

    class StandIn(Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

        def update(self, i, param, grad, state):
            param -= self.lr * grad

    return StandIn


def _stand_in_gradient():
    """A function written as the students write 3.3's ``nesterov_step``: it calls the ``grad_fn`` it is handed."""
    def nesterov_step(theta, v, grad_fn, lr, momentum):
        return theta - lr * grad_fn(theta), v
    return nesterov_step


STAND_INS = {"3.3": _stand_in_gradient, "3.6": _stand_in_optimizer}


# -- tracing (runs in a fresh interpreter: python -m dlcourse.grading.library) ----------------------------------------
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


# -- the view --------------------------------------------------------------------------------------------------------
class _Stubber(ast.NodeTransformer):
    """Replace the body of every function not in ``keep`` (keys ``(first line, name)``) by a stub naming it."""

    def __init__(self, module: str, keep: set):
        self.module, self.keep, self.scope = module, keep, []
        self.removed: list[str] = []

    def _stub_call(self, qualname: str) -> ast.expr:
        self.removed.append(qualname)
        return ast.Call(ast.Attribute(ast.Call(ast.Name("__import__", ast.Load()),
                                               [ast.Constant("dlcourse.grading.absent")],
                                               [ast.keyword("fromlist", ast.Constant(("absent",)))]),
                                      "absent", ast.Load()), [ast.Constant(qualname)], [])

    def _function(self, node):
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        qualname = ".".join([self.module, *self.scope, node.name])
        if (first, node.name) in self.keep:
            self.scope.append(node.name)
            self.generic_visit(node)
            self.scope.pop()
            return node
        node.body = [ast.Raise(self._stub_call(qualname), None)]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()
        return node

    def visit_Lambda(self, node):
        if (node.lineno, "<lambda>") in self.keep:
            return self.generic_visit(node)
        qualname = ".".join([self.module, *self.scope, "<lambda>"])
        return ast.copy_location(ast.Lambda(node.args, self._stub_call(qualname)), node)


def stub_source(source: str, module: str, keep: set) -> str:
    """``source`` with every function body not kept replaced by a call of :func:`~dlcourse.grading.absent.absent`."""
    tree = _Stubber(module, keep).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _module_name(rel: Path) -> str:
    parts = ["dlcourse", *rel.with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def build_view(keep: list, dest: Path) -> Path:
    """Write the view of the package into ``dest/dlcourse``; return ``dest`` (the folder to put on ``sys.path``)."""
    by_file: dict[str, set] = {}
    for rel, line, name in keep:
        by_file.setdefault(rel, set()).add((line, name))
    out = dest / "dlcourse"
    for src in sorted(PACKAGE_DIR.rglob("*")):
        rel = src.relative_to(PACKAGE_DIR)
        if "__pycache__" in rel.parts or src.is_dir():
            continue
        target = out / rel
        if rel.parts[0] == "grading" and rel.as_posix() not in RUNNER_FILES:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix != ".py" or rel.as_posix() in RUNNER_FILES:
            shutil.copyfile(src, target)
        else:
            text = src.read_text(encoding="utf-8")
            target.write_text(stub_source(text, _module_name(rel), by_file.get(str(rel), set())), encoding="utf-8")
    compileall.compile_dir(str(out), quiet=2, workers=1)
    return dest


def package_digest() -> str:
    h = hashlib.sha256()
    for src in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(str(src.relative_to(PACKAGE_DIR)).encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


_VIEWS: dict[str, tuple[Path, dict]] = {}


def run_trace() -> dict:
    """Trace in a fresh interpreter that imports this very package (whatever the working directory or install)."""
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import dlcourse; "
            "assert dlcourse.__file__.startswith(sys.argv[1]), dlcourse.__file__; "
            "from dlcourse.grading.library import trace; print(json.dumps(trace()))")
    env = {**os.environ, "DLCOURSE_HEADLESS": "1", "DLCOURSE_GRADING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(PACKAGE_DIR.parent)], capture_output=True,
                          text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise GraderSetupError(f"tracing the checking harness failed (the grader's own fault, not a student's):\n"
                               f"{proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["problems"]:
        raise GraderSetupError("the checking harness implements an exercise itself:\n  "
                               + "\n  ".join(result["problems"]))
    return result


def view() -> tuple[Path, dict]:
    """The view for the package as it is now (built once per process and package version), and the trace."""
    digest = package_digest()
    if digest not in _VIEWS:
        traced = run_trace()
        dest = Path(tempfile.mkdtemp(prefix=f"dlcourse-view-{digest}-"))
        atexit.register(shutil.rmtree, dest, True)
        build_view([tuple(k) for k in traced["keep"]], dest)
        _VIEWS[digest] = (dest, traced)
    return _VIEWS[digest]
