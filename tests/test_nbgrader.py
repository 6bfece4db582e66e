"""``python -m dlcourse release --nbgrader DIR``, tested with nbgrader itself.

``nbgrader generate_assignment`` releases the assignment; ``nbgrader autograde`` then grades an honest
submission (the solutions filled in), a blank one (the release as handed out) and one that replaces the
course's ``check`` before the locked tests run. The last one shows, in a test, what the instructor guide
says nbgrader does not protect against: its tests run in the student's kernel.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading.nbgrader_course import grade_id, nbgrader_notebook, write_nbgrader_course
from dlcourse.grading.release import BEGIN, END

pytestmark = pytest.mark.unit1
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "1.2-activations.ipynb"
BIN = Path(sys.executable).parent
CHEAT = ("class _Pass:\n    passed, message = True, ''\n"
         "def check(*args, **kwargs):\n    return _Pass()\n")


def need_nbgrader():
    if shutil.which("nbgrader", path=str(BIN)) is None:
        if os.environ.get("CI"):
            pytest.fail("nbgrader is not installed in the course environment (make setup installs the hub extra)")
        pytest.skip("nbgrader is not installed: run `make setup`")


def nbgrader(course: Path, *args: str) -> str:
    # nbgrader creates its gradebook by running `alembic`: the environment's bin/ must be on PATH.
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_cells_carry_nbgrader_metadata():
    nb = nbformat.read(ROOT / "units" / "01-backprop" / NOTEBOOK, as_version=4)
    out, exercises = nbgrader_notebook(nb)
    assert exercises == ["1.2", "1.3"]
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in out.cells if "nbgrader" in c.metadata}
    assert set(meta) == {grade_id(k, e) for k in ("exercise", "check") for e in exercises}
    for ex in exercises:
        assert meta[grade_id("exercise", ex)] == {"grade": False, "solution": True, "locked": False,
                                                       "grade_id": f"exercise-{ex.replace('.', '_')}",
                                                       "schema_version": 3}
        check = meta[grade_id("check", ex)]
        assert check["grade"] and check["locked"] and check["points"] == 1
    assert not any("NBVAL" in c.source for c in out.cells)
    assert not any(c.get("outputs") for c in out.cells if c.cell_type == "code")


def test_points_come_from_the_exercise_cells_metadata():
    nb = nbformat.read(ROOT / "units" / "01-backprop" / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if "# Exercise 1.3" in cell.source:
            cell.metadata["dlcourse"] = {"points": 2}
    out, _ = nbgrader_notebook(nb)
    check = next(c for c in out.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check-1_3")
    assert check.metadata["nbgrader"]["points"] == 2 and "(2 points)" in check.source


def fill_in_solutions(released, source):
    """The honest student: the released notebook with each solution cell's code from the instructor's."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    honest = nbformat.from_dict(released)
    for cell in honest.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = "\n".join(ln for ln in solutions[meta["grade_id"]].splitlines()
                                    if ln.strip() not in (BEGIN, END))
    return honest


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades(tmp_path):
    need_nbgrader()
    units = tmp_path / "units" / "01-backprop"
    units.mkdir(parents=True)
    shutil.copy(ROOT / "units" / "01-backprop" / NOTEBOOK, units)
    course = tmp_path / "course"
    report = write_nbgrader_course(course, tmp_path / "units")
    assert report.assignments == {"unit1": ["1.2", "1.3"]}
    nbgrader(course, "generate_assignment", "unit1", "--force")
    released = nbformat.read(course / "release" / "unit1" / NOTEBOOK, as_version=4)
    assert not any(BEGIN in c.source for c in released.cells)
    source = nbformat.read(course / "source" / "unit1" / NOTEBOOK, as_version=4)

    cheat = nbformat.from_dict(released)
    first_solution = next(i for i, c in enumerate(cheat.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    cheat.cells[first_solution].source = CHEAT + cheat.cells[first_solution].source
    for student, nb in {"honest": fill_in_solutions(released, source), "blank": released, "cheat": cheat}.items():
        (course / "submitted" / student / "unit1").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "unit1" / NOTEBOOK)
    nbgrader(course, "autograde", "unit1", "--force")
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as f:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}
    assert scores["honest"] == (2.0, 2.0)
    assert scores["blank"] == (0.0, 2.0)
    # The limit the guide states: a submission that replaces `check` in its own kernel passes nbgrader's tests.
    assert scores["cheat"] == (2.0, 2.0)
