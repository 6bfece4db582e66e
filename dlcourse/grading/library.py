r"""The copy of ``dlcourse`` that graded code sees: the checking harness, and no implementation of anything else.

**The guarantee.** A process that runs student code imports ``dlcourse`` from a *view*: a copy of the package in
which the body of every function and method is replaced by a stub raising
:class:`~dlcourse.grading.absent.LibraryCodeAbsent`, except the functions the checking harness needs (what runs
when the exercise modules are imported and what the exercises' adapters run around the function they call) and
the scaffolding an exercise hands in (``Value`` for 1.4 and 1.5, the ``Optimizer`` base class for 3.6). The
references of the exercises, the library functions they call and any other library function that computes the
same thing are therefore neither loaded, importable nor readable there: calling them raises, reading their source
shows the stub. Exercise modules keep their names, classes and constants, so notebooks still import them.

**How the kept set is found** (:mod:`dlcourse.checks.library_use`, which the notebook's check shares to warn a
student whose function calls an absent function). Once per package version, a fresh interpreter imports the package's modules and
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
import shutil
import tempfile
from pathlib import Path

# One definition of what the harness keeps (and so of what is absent): dlcourse.checks.library_use, which the
# notebook's check() also uses to warn a student whose function calls the library.
from ..checks.library_use import (NOT_TRACED, PACKAGE_DIR, STAND_INS, TraceError, package_digest,  # noqa: F401
                                  trace)
from ..checks.library_use import run_trace as _run_trace
# The grading code the runner needs, left verbatim in the view; the rest of dlcourse/grading is not in the view at
# all (the grader's probe holds a right answer, its stand-ins code that uses the scaffolding).
RUNNER_FILES = ("grading/__init__.py", "grading/absent.py", "grading/protocol.py", "grading/runner.py")


class GraderSetupError(RuntimeError):
    """The grader cannot prepare a faithful sandbox: nothing is graded (the message names the cause and the fix)."""


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


_VIEWS: dict[str, tuple[Path, dict]] = {}


def run_trace() -> dict:
    """Trace in a fresh interpreter (:func:`dlcourse.checks.library_use.run_trace`); a failure stops the grader."""
    try:
        return _run_trace()
    except TraceError as exc:
        raise GraderSetupError(str(exc)) from None


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
