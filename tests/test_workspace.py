"""``dlcourse.workspace`` and ``python -m dlcourse workspace``: the student's copy of the course.

The promise (README, "Your workspace"): the first run writes student notebooks (solutions stubbed, outputs that
came from them cleared, no test markers); a later run never overwrites a student's work. An untouched notebook
(every cell's text as written) is updated in place; an edited one is kept and the new version is written beside
it as ``NAME (updated YYYY-MM-DD).ipynb``; a deleted notebook comes back fresh; new notebooks just appear.
These tests try to break that promise: edit, delete, rename, a file already holding the new name, a read-only
notebook, a read-only folder, a symlink, a corrupt manifest.
"""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.unit1

from dlcourse import workspace as ws  # noqa: E402
from dlcourse.cli import main  # noqa: E402
from dlcourse.grading.release import BEGIN, END  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DAY1, DAY2, DAY3 = "2026-01-10", "2026-02-01", "2026-03-05"


def make_nb(path: Path, title: str = "A", answer: str = "return 2 * x", extra: str = "") -> Path:
    """A tiny course notebook: a title, an exercise with its solution block, its check, a cell using it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n{extra}"),
        nbformat.v4.new_code_cell(f"# Exercise 9.1: double\ndef double(x):\n    {BEGIN}\n    {answer}\n    {END}"),
        nbformat.v4.new_code_cell('# NBVAL_CHECK_OUTPUT\ncheck("9.1", double)'),
        nbformat.v4.new_code_cell("print(double(21))"),
    ]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="42\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="passed\n")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def course(tmp_path):
    src = tmp_path / "units"
    make_nb(src / "01-a" / "1.1-first.ipynb", "First")
    make_nb(src / "01-a" / "1.2-second.ipynb", "Second")
    return src


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "workspace"


def build(course, dest, day=DAY1):
    return ws.build_workspace(dest, source=course, today=day)


def edit(path: Path, text: str = "my own answer") -> None:
    """What a student does: type into the exercise cell and save (JupyterLab saves with nbformat too)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace('raise NotImplementedError("Exercise 9.1: replace this line '
                                                    'with your code")', f"return 2 * x  # {text}")
    assert text in nb.cells[1].source
    nbformat.write(nb, path)


def sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


def files(dest: Path) -> list[str]:
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.ipynb"))


# -- the first run ------------------------------------------------------------------------------------------------
def test_first_run_writes_student_notebooks(course, dest):
    report = build(course, dest)
    assert files(dest) == ["units/01-a/1.1-first.ipynb", "units/01-a/1.2-second.ipynb"]
    assert sorted(report.created) == ["course/bibliography.md"] + files(dest)
    nb = nbformat.read(dest / "units" / "01-a" / "1.1-first.ipynb", as_version=4)
    text = nbformat.writes(nb)
    assert "return 2 * x" not in text and BEGIN not in text and "NBVAL" not in text
    assert 'raise NotImplementedError("Exercise 9.1:' in nb.cells[1].source
    assert nb.cells[2].outputs == [] and nb.cells[3].outputs == []     # both came from the solution
    assert (dest / ws.MARKER).is_file()
    manifest = json.loads((dest / ws.MARKER).read_text())
    assert set(manifest["notebooks"]) == set(files(dest)) | {"course/bibliography.md"}
    assert "2 new notebook(s) written" in str(report)


def test_first_run_on_the_real_course_leaks_nothing(tmp_path):
    from dlcourse.grading.release import BEGIN as B

    dest = tmp_path / "ws"
    report = ws.build_workspace(dest)
    units = sorted(p.relative_to(ws.UNITS).as_posix() for p in ws.UNITS.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    assert files(dest) == [f"units/{u}" for u in units]
    assert sorted(report.created) == ["course/bibliography.md"] + [f"units/{u}" for u in units]
    solution_lines = set()
    for rel in units:
        for cell in nbformat.read(ws.UNITS / rel, as_version=4).cells:
            if B in cell.source:
                body = cell.source.split(B, 1)[1].split(END, 1)[0]
                solution_lines |= {ln.strip() for ln in body.splitlines() if len(ln.strip()) > 8
                                   and not ln.strip().startswith("#")}
    for rel in units:
        for cell in nbformat.read(dest / "units" / rel, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            assert not re.search(r"#\s*NBVAL_", cell.source), rel
            assert not {ln.strip() for ln in cell.source.splitlines()} & solution_lines, rel


def test_refuses_a_destination_inside_the_course(course):
    with pytest.raises(ValueError, match="dest"):
        ws.build_workspace(course / "ws", source=course)
    with pytest.raises(ValueError, match="source"):
        ws.build_workspace(course.parent / "ws", source=course.parent / "missing")


# -- later runs: the student's work is never overwritten -----------------------------------------------------------
def test_second_run_without_changes_touches_nothing(course, dest):
    build(course, dest)
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*.ipynb")}
    report = build(course, dest, DAY2)
    assert report.created == report.updated == report.beside == []
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*.ipynb")} == before


def test_an_edited_notebook_is_kept_when_the_course_is_unchanged(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    edit(nb)
    mine = nb.read_bytes()
    report = build(course, dest, DAY2)
    assert nb.read_bytes() == mine
    assert files(dest) == ["units/01-a/1.1-first.ipynb", "units/01-a/1.2-second.ipynb"]
    assert report.beside == [] and "units/01-a/1.1-first.ipynb" in report.kept


def test_a_course_update_arrives_beside_an_edited_notebook(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    edit(nb)
    mine = nb.read_bytes()
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="A new paragraph.")
    report = build(course, dest, DAY2)
    assert nb.read_bytes() == mine
    beside = dest / "units" / "01-a" / f"1.1-first (updated {DAY2}).ipynb"
    assert beside.is_file() and "A new paragraph." in sources(beside)[0]
    assert report.beside == [("units/01-a/1.1-first.ipynb", f"units/01-a/1.1-first (updated {DAY2}).ipynb")]
    assert f"1.1-first (updated {DAY2}).ipynb" in str(report) and "your copy is kept" in str(report)
    # the same update is offered once: the next run writes nothing more
    again = build(course, dest, DAY3)
    assert again.beside == [] and len(files(dest)) == 3
    # a second course update arrives beside too, under its own date
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="Another paragraph.")
    third = build(course, dest, DAY3)
    assert third.beside == [("units/01-a/1.1-first.ipynb", f"units/01-a/1.1-first (updated {DAY3}).ipynb")]
    assert nb.read_bytes() == mine and beside.is_file()


def test_an_untouched_notebook_is_updated_in_place(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.2-second.ipynb"
    # running cells (outputs, kernel metadata) is not editing: the text of every cell is as written
    doc = nbformat.read(nb, as_version=4)
    doc.cells[3].outputs = [nbformat.v4.new_output("stream", text="run by the student\n")]
    doc.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(doc, nb)
    make_nb(course / "01-a" / "1.2-second.ipynb", "Second", extra="Fixed a typo.")
    report = build(course, dest, DAY2)
    assert report.updated == ["units/01-a/1.2-second.ipynb"] and report.beside == []
    assert "Fixed a typo." in sources(nb)[0]
    assert len(files(dest)) == 2


def test_a_new_course_notebook_just_appears(course, dest):
    build(course, dest)
    edit(dest / "units" / "01-a" / "1.1-first.ipynb")
    make_nb(course / "02-b" / "2.1-new.ipynb", "New")
    report = build(course, dest, DAY2)
    assert report.created == ["units/02-b/2.1-new.ipynb"]
    assert (dest / "units" / "02-b" / "2.1-new.ipynb").is_file()


def test_a_deleted_notebook_comes_back_fresh(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    nb.unlink()
    report = build(course, dest, DAY2)
    assert report.restored == ["units/01-a/1.1-first.ipynb"] and nb.is_file()
    assert 'raise NotImplementedError("Exercise 9.1:' in sources(nb)[1]


def test_a_renamed_notebook_is_left_alone_and_a_fresh_copy_appears(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    edit(nb)
    renamed = dest / "units" / "01-a" / "my work.ipynb"
    nb.rename(renamed)
    mine = renamed.read_bytes()
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="Updated.")
    build(course, dest, DAY2)
    assert renamed.read_bytes() == mine
    assert "Updated." in sources(nb)[0]


def test_a_file_already_holding_the_new_name_is_not_overwritten(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    edit(nb)
    squatter = dest / "units" / "01-a" / f"1.1-first (updated {DAY2}).ipynb"
    squatter.write_text("the student's own file, not even a notebook")
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="Updated.")
    report = build(course, dest, DAY2)
    assert squatter.read_text() == "the student's own file, not even a notebook"
    (kept, new), = report.beside
    assert kept == "units/01-a/1.1-first.ipynb" and new not in ("units/01-a/1.1-first.ipynb", squatter.relative_to(dest).as_posix())
    assert "Updated." in sources(dest / new)[0]


def test_a_student_file_with_the_name_of_a_new_course_notebook_is_kept(course, dest):
    build(course, dest)
    mine = dest / "units" / "02-b" / "2.1-new.ipynb"
    mine.parent.mkdir()
    mine.write_text("my notes")
    make_nb(course / "02-b" / "2.1-new.ipynb", "New")
    report = build(course, dest, DAY2)
    assert mine.read_text() == "my notes"
    assert report.beside == [("units/02-b/2.1-new.ipynb", f"units/02-b/2.1-new (updated {DAY2}).ipynb")]
    # and it stays kept on later runs
    assert build(course, dest, DAY3).beside == [] and mine.read_text() == "my notes"


def test_a_read_only_notebook_is_never_replaced(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.2-second.ipynb"     # untouched, but the student locked it
    nb.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = nb.read_bytes()
    make_nb(course / "01-a" / "1.2-second.ipynb", "Second", extra="Updated.")
    report = build(course, dest, DAY2)
    assert nb.read_bytes() == before
    assert report.beside == [("units/01-a/1.2-second.ipynb", f"units/01-a/1.2-second (updated {DAY2}).ipynb")]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_reported_not_crashed(course, dest):
    build(course, dest)
    folder = dest / "units" / "01-a"
    make_nb(course / "01-a" / "1.3-third.ipynb", "Third")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        report = build(course, dest, DAY2)
    finally:
        folder.chmod(stat.S_IRWXU)
    assert report.errors and "1.3-third.ipynb" in report.errors[0]


def test_an_unwritable_place_is_reported_not_crashed(course, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = ws.build_workspace(blocker / "ws", source=course, today=DAY1)
    assert report.errors and not report.created


def test_a_symlinked_notebook_never_writes_through_the_link(course, dest, tmp_path):
    build(course, dest)
    outside = tmp_path / "outside.ipynb"
    outside.write_bytes((dest / "units" / "01-a" / "1.2-second.ipynb").read_bytes())
    nb = dest / "units" / "01-a" / "1.2-second.ipynb"
    nb.unlink()
    nb.symlink_to(outside)
    before = outside.read_bytes()
    make_nb(course / "01-a" / "1.2-second.ipynb", "Second", extra="Updated.")
    build(course, dest, DAY2)
    assert outside.read_bytes() == before


def test_a_corrupt_manifest_loses_no_work(course, dest):
    build(course, dest)
    edit(dest / "units" / "01-a" / "1.1-first.ipynb")
    mine = (dest / "units" / "01-a" / "1.1-first.ipynb").read_bytes()
    (dest / ws.MARKER).write_text("{not json")
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="Updated.")
    report = build(course, dest, DAY2)
    assert (dest / "units" / "01-a" / "1.1-first.ipynb").read_bytes() == mine
    assert [k for k, _ in report.beside] == ["units/01-a/1.1-first.ipynb"]
    # the untouched one is recognised by its content and adopted
    assert "units/01-a/1.2-second.ipynb" not in [k for k, _ in report.beside]


def test_a_corrupt_notebook_counts_as_the_students(course, dest):
    build(course, dest)
    nb = dest / "units" / "01-a" / "1.1-first.ipynb"
    nb.write_text("{half a notebook")
    make_nb(course / "01-a" / "1.1-first.ipynb", "First", extra="Updated.")
    report = build(course, dest, DAY2)
    assert nb.read_text() == "{half a notebook" and report.beside


def test_bad_paths_are_refused(course, dest):
    with pytest.raises(TypeError, match="dest must be a path.*got int"):
        ws.build_workspace(3, source=course)
    with pytest.raises(TypeError, match="source must be a path.*got NoneType"):
        ws.build_workspace(dest, source=None)


def test_bad_dates_are_refused(course, dest):
    with pytest.raises(ValueError, match="today"):
        ws.build_workspace(dest, source=course, today="yesterday")


# -- finding the workspace (the progress file lives there) -------------------------------------------------------------
def test_find_workspace_searches_upward_and_honours_the_variable(course, dest, tmp_path, monkeypatch):
    build(course, dest)
    monkeypatch.delenv(ws.ENV_VAR, raising=False)
    assert ws.find_workspace(dest / "units" / "01-a") == dest.resolve()
    assert ws.find_workspace(tmp_path) is None
    monkeypatch.setenv(ws.ENV_VAR, str(dest))
    assert ws.find_workspace(tmp_path) == dest.resolve()


# -- the command line ----------------------------------------------------------------------------------------------------
def test_the_command_line_builds_and_reports(course, dest, capsys):
    assert main(["workspace", "--dest", str(dest), "--source", str(course)]) == 0
    out = capsys.readouterr().out
    assert "2 new" in out and str(dest) in out
    assert main(["workspace", "--dest", str(dest), "--source", str(course)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_command_line_fails_readably(course, capsys):
    assert main(["workspace", "--dest", str(course / "x"), "--source", str(course)]) == 1
    assert "workspace failed" in capsys.readouterr().err


def test_the_workspace_folder_is_git_ignored():
    proc = subprocess.run(["git", "check-ignore", "-q", "workspace/units/01-backprop/x.ipynb"], cwd=ROOT)
    assert proc.returncode == 0


def test_python_m_dlcourse_workspace_runs(course, dest):
    proc = subprocess.run([sys.executable, "-m", "dlcourse", "workspace", "--dest", str(dest), "--source",
                           str(course)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert files(dest)


def test_the_workspace_holds_exactly_what_release_publishes(course, dest, tmp_path):
    """One student version everywhere: `make lab`'s workspace, `release` (and so `release --git`), the site."""
    from dlcourse.grading.release import release

    build(course, dest)
    release(course, tmp_path / "rel")
    for rel, text in ws.student_notebooks(course):
        assert (dest / "units" / rel).read_text(encoding="utf-8") == text == (tmp_path / "rel" / "student" / rel).read_text()


# -- the files the notebooks link to ---------------------------------------------------------------------------
def test_citation_links_resolve_inside_the_workspace(dest):
    """The notebooks cite ``../../course/bibliography.md``: JupyterLab, rooted at the workspace, must find it."""
    build(ws.UNITS, dest)
    linked = set()
    for nb_path in (dest / "units").rglob("*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            for target in re.findall(r"\]\((\.\./[^)#\s]+)", cell.source):
                linked.add((nb_path.parent / target).resolve())
    assert linked, "no relative links found"
    for path in linked:
        assert path.is_file() and dest.resolve() in path.parents, f"{path} is not inside the workspace"


def test_an_edited_bibliography_is_kept(course, dest):
    build(course, dest, DAY1)
    bib = dest / "course" / "bibliography.md"
    bib.write_text(bib.read_text() + "\nMy own note.\n")
    report = build(course, dest, DAY2)
    assert "My own note." in bib.read_text()
    assert "course/bibliography.md" in report.kept
