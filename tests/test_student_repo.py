"""``python -m dlcourse release --git DIR``: the student repository a hub hands out with nbgitpuller links.

The pulls are made by nbgitpuller's own code (``nbgitpuller.pull.GitPuller``, what a hub runs when a student
clicks a link) against a local ``file://`` remote: the first pull creates the workspace; the student edits an
exercise; the instructor releases a change to another notebook and a new notebook; the second pull brings both
and keeps the student's edit.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse.checks.records import find_workspace
from dlcourse.grading.release import BEGIN, INSTALL_CELL
from dlcourse.grading.student_repo import requirements, student_files, write_student_repo

pytestmark = pytest.mark.unit1
ROOT = Path(__file__).resolve().parents[1]
STUDENT_EDIT = "    return 1.0 / (1.0 + np.exp(-x))  # the student's own line"


@pytest.fixture()
def course(tmp_path):
    """A small course to release: Unit 1's first two notebooks, copied so the test can change them."""
    units = tmp_path / "units"
    (units / "01-backprop").mkdir(parents=True)
    for name in ("1.1-neurons-and-shallow-models.ipynb", "1.2-activations.ipynb"):
        shutil.copy(ROOT / "units" / "01-backprop" / name, units / "01-backprop" / name)
    return units


def pull(remote: Path, workspace: Path) -> None:
    gitpuller = pytest.importorskip("nbgitpuller.pull", reason="nbgitpuller is installed by `make setup`")
    puller = gitpuller.GitPuller(f"file://{remote}", str(workspace), branch="main")
    for _ in puller.pull():
        pass


def stub_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code" and "raise NotImplementedError(\"Exercise" in c.source)


def test_repository_has_the_workspace_and_what_a_hub_builds_from(course, tmp_path):
    files = student_files(ROOT, course, install_from="git+https://example.invalid/dlcourse-student")
    notebooks = [f for f in files if f.endswith(".ipynb")]
    assert notebooks == ["units/01-backprop/1.1-neurons-and-shallow-models.ipynb", "units/01-backprop/1.2-activations.ipynb"]
    for rel in notebooks:
        nb = nbformat.reads(files[rel].decode(), as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert BEGIN not in text and "NBVAL_" not in text
        assert nb.cells[0].source == INSTALL_CELL.format(url="git+https://example.invalid/dlcourse-student")
    assert files["course/bibliography.md"] == (ROOT / "course" / "bibliography.md").read_bytes()
    for needed in ("requirements.txt", "binder/requirements.txt", "binder/postBuild", "pyproject.toml",
                   "dlcourse/__init__.py", "dlcourse/checks/unit1.py", "README.md"):
        assert needed in files, needed
    reqs = files["requirements.txt"].decode()
    assert "torch==2.13.0" in reqs and "numpy==" in reqs and "pytest" not in reqs and "jupyter-book" not in reqs
    assert reqs == requirements(ROOT / "requirements" / "course.lock")


def test_nbgitpuller_brings_updates_and_keeps_the_students_edit(course, tmp_path):
    remote, workspace = tmp_path / "student-repo", tmp_path / "home" / "dlcourse"
    first = write_student_repo(remote, ROOT, course)
    assert first.commit and len(first.notebooks) == 2

    pull(remote, workspace)                                   # first click on the link: a fresh workspace
    edited = workspace / "units" / "01-backprop" / "1.2-activations.ipynb"
    nb = nbformat.read(edited, as_version=4)
    cell = stub_cell(nb)
    cell.source = "\n".join(STUDENT_EDIT if "raise NotImplementedError" in ln else ln for ln in cell.source.splitlines())
    nbformat.write(nb, edited)

    # The instructor changes another notebook and adds one, and releases again.
    changed = course / "01-backprop" / "1.1-neurons-and-shallow-models.ipynb"
    nb1 = nbformat.read(changed, as_version=4)
    nb1.cells[0].source += "\n\nA sentence the instructor added after the first pull."
    nbformat.write(nb1, changed)
    shutil.copy(ROOT / "units" / "01-backprop" / "1.3-backprop-on-graphs.ipynb", course / "01-backprop")
    second = write_student_repo(remote, ROOT, course)
    assert second.commit != first.commit
    assert sorted(second.changed) == ["units/01-backprop/1.1-neurons-and-shallow-models.ipynb",
                                      "units/01-backprop/1.3-backprop-on-graphs.ipynb"]

    pull(remote, workspace)                                   # second click: the update arrives
    assert STUDENT_EDIT in edited.read_text()                 # the student's work is kept
    assert find_workspace(edited.parent) == workspace.resolve()   # check() remembers progress in the clone
    json.loads(edited.read_text())                            # and the notebook is still a notebook
    got = nbformat.read(workspace / "units" / "01-backprop" / "1.1-neurons-and-shallow-models.ipynb", as_version=4)
    assert "added after the first pull" in got.cells[0].source
    assert (workspace / "units" / "01-backprop" / "1.3-backprop-on-graphs.ipynb").exists()


def test_release_again_without_changes_makes_no_commit(course, tmp_path):
    remote = tmp_path / "repo"
    first = write_student_repo(remote, ROOT, course)
    again = write_student_repo(remote, ROOT, course)
    assert again.commit is None and "up to date" in str(again)
    log = subprocess.run(["git", "log", "--oneline"], cwd=remote, capture_output=True, text=True).stdout
    assert len(log.splitlines()) == 1 and first.commit


def test_removed_notebook_leaves_the_repository(course, tmp_path):
    remote = tmp_path / "repo"
    write_student_repo(remote, ROOT, course)
    (course / "01-backprop" / "1.1-neurons-and-shallow-models.ipynb").unlink()
    report = write_student_repo(remote, ROOT, course)
    assert report.changed == ["units/01-backprop/1.1-neurons-and-shallow-models.ipynb"]
    assert not (remote / "units" / "01-backprop" / "1.1-neurons-and-shallow-models.ipynb").exists()


@pytest.mark.parametrize("make_bad", ["file", "nonempty", "inside"])
def test_bad_targets_are_refused_with_the_reason(course, tmp_path, make_bad):
    if make_bad == "file":
        target = tmp_path / "afile"
        target.write_text("x")
        match = "must name a folder"
    elif make_bad == "nonempty":
        target = tmp_path / "homework"
        target.mkdir()
        (target / "mine.txt").write_text("do not lose me")
        match = "not a git repository"
    else:
        target = ROOT / "units" / "student-repo"
        match = "outside the course folder"
    with pytest.raises(ValueError, match=match):
        write_student_repo(target, ROOT, course)
    if make_bad == "nonempty":
        assert (target / "mine.txt").read_text() == "do not lose me"


def test_command_line(course, tmp_path):
    out = tmp_path / "student-repo"
    done = subprocess.run([sys.executable, "-m", "dlcourse", "release", "--source", str(course), "--git", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "commit" in done.stdout and (out / "units" / "01-backprop" / "1.2-activations.ipynb").exists()
