"""``python -m dlcourse release --nbgrader DIR``: the course's exercises as an nbgrader course.

A class that already grades with nbgrader gets one assignment per unit (``unit1`` … ``unit5``) in
``DIR/source/<assignment>/``, built from the instructor notebooks and the same exercise registry as
``dlcourse grade``:

- a cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` becomes an nbgrader *solution* cell
  (nbgrader's markers are ours, so ``nbgrader generate_assignment`` stubs it);
- the cell after it, ``check("N.k", function)``, becomes a locked *autograder test* cell worth the
  exercise's points (``{"dlcourse": {"points": P}}`` in the exercise cell's metadata, default 1): it runs
  the same check the student runs and fails unless the check passes;
- test markers (``# NBVAL_...``) and the outputs go.

``DIR/nbgrader_config.py`` names the course, the assignments and the stub a solution becomes. What nbgrader
does not protect: its tests run in the student's own kernel, after the student's code, so a submission can
change what they see (see the instructor guide: prefer ``dlcourse grade`` where marks matter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .release import BEGIN, EXERCISE_RE, NBVAL_MARKER

CHECK_RE = re.compile(r'check\(\s*"(\d+\.\d+)"\s*,\s*(\w+)\s*\)')
CODE_STUB = 'raise NotImplementedError("replace this line with your code")'
TEST_CELL = """\
# Autograder test for exercise {ex_id} ({points} point{s}): the check you ran above must pass.
_result = check("{ex_id}", {function})
print(_result)
assert _result.passed, _result.message
"""
CONFIG = '''\
# nbgrader configuration written by `python -m dlcourse release --nbgrader`.
# Run nbgrader from this folder, with the course environment's bin/ on PATH (nbgrader runs `alembic`).
c = get_config()
c.CourseDirectory.course_id = "dlcourse"
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.ClearSolutions.enforce_metadata = True
c.ExecutePreprocessor.timeout = 300
'''


@dataclass
class NbgraderReport:
    path: Path
    assignments: dict = field(default_factory=dict)   # assignment -> exercise ids

    def __str__(self) -> str:
        parts = [f"{name}: {len(ids)} exercise(s)" for name, ids in self.assignments.items()]
        return f"nbgrader course in {self.path} ({'; '.join(parts)}); run `nbgrader generate_assignment ASSIGNMENT` there"


def grade_id(kind: str, ex_id: str) -> str:
    """nbgrader's id of an exercise's cell (letters, digits, ``_`` and ``-`` only): ``exercise-1_2``, ``check-1_2``."""
    return f"{kind}-{ex_id.replace('.', '_')}"


def _meta(kind: str, ex_id: str, points: float | None = None) -> dict:
    meta = {"grade": kind == "check", "solution": kind == "exercise", "locked": kind != "exercise",
            "grade_id": grade_id(kind, ex_id), "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_notebook(nb) -> tuple:
    """``(notebook, exercise ids)``: ``nb`` with nbgrader's solution and autograder-test cells."""
    nb = nbformat.from_dict(nb)
    exercises, points = [], {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = NBVAL_MARKER.sub("", cell.source)
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        if BEGIN in cell.source:
            match = EXERCISE_RE.search(cell.source)
            if not match:
                raise ValueError(f"a solution cell without '# Exercise N.k: name' cannot be graded: {cell.source[:60]!r}")
            ex_id = match.group(1)
            points[ex_id] = float(cell.metadata.get("dlcourse", {}).get("points", 1))
            cell.metadata["nbgrader"] = _meta("exercise", ex_id)
            exercises.append(ex_id)
        elif CHECK_RE.search(cell.source):
            ex_id, function = CHECK_RE.search(cell.source).groups()
            if ex_id in points:
                p = points[ex_id]
                cell.source = TEST_CELL.format(ex_id=ex_id, function=function, points=f"{p:g}",
                                               s="" if p == 1 else "s")
                cell.metadata["nbgrader"] = _meta("check", ex_id, p)
    return nb, exercises


def write_nbgrader_course(dest: Path, source: Path) -> NbgraderReport:
    """Write ``dest/source/unitN/*.ipynb`` (one assignment per unit folder) and ``dest/nbgrader_config.py``."""
    dest, source = Path(dest), Path(source)
    if not source.is_dir():
        raise ValueError(f"source must be a folder of unit folders of notebooks, got {source}")
    report = NbgraderReport(dest)
    for path in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        unit = re.match(r"(\d+)", path.parent.name)
        if unit is None:
            continue
        assignment = f"unit{int(unit.group(1))}"
        nb, exercises = nbgrader_notebook(nbformat.read(path, as_version=4))
        if not exercises:
            continue
        out = dest / "source" / assignment / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        report.assignments.setdefault(assignment, []).extend(exercises)
    assignments = [{"name": name} for name in report.assignments]
    (dest / "nbgrader_config.py").write_text(CONFIG.format(stub=CODE_STUB, assignments=assignments))
    return report
