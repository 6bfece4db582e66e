"""``dlcourse.grading.release`` and ``python -m dlcourse release``: student notebooks with the
solutions stubbed out, exercise outputs cleared, no solution line leaked; instructor copies as is."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.unit1

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import NOT_ATTEMPTED, check  # noqa: E402
from dlcourse.cli import main  # noqa: E402
from dlcourse.graph import Value  # noqa: E402
from dlcourse.grading.release import (BEGIN, END, ReleaseError, find_leaks, release,  # noqa: E402
                                      strip_solutions, student_version)

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "units"
SOURCES = sorted(p for p in UNITS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
STUB = re.compile(r'^(?P<indent>\s*)raise NotImplementedError\("Exercise (?P<id>\d+\.\d+): [^"]+"\)$')
NBVAL = re.compile(r"^#\s*NBVAL_\w+[^\n]*\n?", re.MULTILINE)
TRIVIAL = {"", "return", "pass", "else:", "try:", "continue", "break", ")", "]", "}"}


def run_cli(*args):
    """``python -m dlcourse ...`` in a subprocess, as a student or a CI job runs it."""
    return subprocess.run([sys.executable, "-m", "dlcourse", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def run_main(capsys, *args):
    """The same command line in this process (faster): ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def is_check_cell(cell):
    return cell.cell_type == "code" and re.search(r"\bcheck\(", cell.source) is not None


def is_solution_cell(cell):
    return cell.cell_type == "code" and BEGIN in cell.source


def solution_lines(source):
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def write_notebook(path, *sources, outputs=True):
    nb = nbformat.v4.new_notebook()
    for src in sources:
        cell = nbformat.v4.new_code_cell(src)
        if outputs:
            cell.outputs = [nbformat.v4.new_output("stream", text="an output\n")]
            cell.execution_count = 1
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


GOOD_CELL = '# Exercise 1.3: sigmoid_prime\ndef sigmoid_prime(x):\n    ### BEGIN SOLUTION\n    s = 1 / (1 + np.exp(-x))\n    return s * (1 - s)\n    ### END SOLUTION\n'


# -- releasing the course's own notebooks -----------------------------------------------------------
@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    proc = run_cli("release", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_the_cli_reports_what_it_released(released):
    out, stdout = released
    n_exercises = sum(c.source.count("### BEGIN SOLUTION") for p in SOURCES
                      for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    assert f"released {len(SOURCES)} notebook(s) with {n_exercises} exercise(s)" in stdout
    for ex_id in [f"1.{i}" for i in range(1, 8)]:
        assert ex_id in stdout
    assert str(out / "student") in stdout


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_instructor_copies_are_identical_to_the_sources(released, source):
    out, _ = released
    assert (out / "instructor" / source.relative_to(UNITS)).read_bytes() == source.read_bytes()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_notebooks(released, source):
    out, _ = released
    original = nbformat.read(source, as_version=4)
    student = nbformat.read(out / "student" / source.relative_to(UNITS), as_version=4)
    nbformat.validate(student)
    assert student.metadata["dlcourse"] == {"version": "student"}
    assert len(student.cells) == len(original.cells)
    all_solution, functions = [], set()
    for orig, stud in zip(original.cells, student.cells):
        assert stud.cell_type == orig.cell_type
        assert not NBVAL.search(stud.source), "test markers are removed from student notebooks"
        uses_solution = any(re.search(rf"(?<![\w.]){f}\b", orig.source) for f in functions)
        if is_solution_cell(orig):
            lines = solution_lines(orig.source)
            all_solution += lines
            ex_id, name = re.search(r"# Exercise (\d+\.\d+):\s*(\w+)", orig.source).groups()
            functions.add(name)
            stubs = [m for m in map(STUB.match, stud.source.splitlines()) if m]
            assert len(stubs) == 1, stud.source
            marker = next(ln for ln in orig.source.splitlines() if ln.strip() == BEGIN)
            assert stubs[0]["indent"] == marker[: len(marker) - len(marker.lstrip())]
            assert stubs[0]["id"] == ex_id
            assert BEGIN not in stud.source and END not in stud.source
            # everything outside the block is kept, in order
            kept = [ln for ln in NBVAL.sub("", orig.source).splitlines()
                    if ln not in lines and ln.strip() not in (BEGIN, END)]
            assert [ln for ln in stud.source.splitlines() if not STUB.match(ln)] == kept
            assert stud.outputs == [] and stud.execution_count is None
        elif is_check_cell(orig) or (orig.cell_type == "code" and uses_solution):
            assert stud.source == NBVAL.sub("", orig.source)
            assert stud.outputs == [] and stud.execution_count is None
        else:
            assert stud.source == NBVAL.sub("", orig.source)
            if orig.cell_type == "code":
                assert stud.outputs == orig.outputs
                assert stud.execution_count == orig.execution_count
    # the leak check, done independently: no non-trivial solution line survives anywhere
    text = "\n".join(c.source for c in student.cells).splitlines()
    body = {ln.strip() for ln in text}
    for line in all_solution:
        s = line.strip()
        if s not in TRIVIAL and not s.startswith("#") and len(s) > 8:
            assert s not in body, f"{source.name}: solution line leaked: {s}"


def test_some_course_cells_keep_their_outputs(released):
    out, _ = released
    kept = 0
    for source in SOURCES:
        student = nbformat.read(out / "student" / source.relative_to(UNITS), as_version=4)
        kept += sum(bool(c.outputs) for c in student.cells if c.cell_type == "code")
    assert kept > 0


def test_released_exercise_cells_are_not_attempted(released, monkeypatch):
    """Run each student exercise cell and the check cell after it: the check says "not attempted"."""
    out, _ = released
    monkeypatch.setattr(checks, "_LATEST", {})
    results = []
    for source in [p for p in SOURCES if "01-backprop" in p.parts]:
        student = nbformat.read(out / "student" / source.relative_to(UNITS), as_version=4)
        namespace = {"np": np, "math": __import__("math"), "Value": Value,
                     "check": lambda ex_id, fn: results.append(check(ex_id, fn))}
        for cell in student.cells:
            if cell.cell_type == "code" and "raise NotImplementedError" in cell.source:
                exec(cell.source, namespace)
            elif is_check_cell(cell) and re.match(r"(# NBVAL\w*\n)*check\(", cell.source):
                exec(cell.source, namespace)
    assert sorted(r.exercise.id for r in results) == [f"1.{i}" for i in range(1, 8)]
    for r in results:
        assert r.status == NOT_ATTEMPTED, str(r)


def test_releasing_again_replaces_the_old_release(tmp_path):
    src = tmp_path / "src"
    write_notebook(src / "a.ipynb", GOOD_CELL)
    out = tmp_path / "out"
    (out / "student").mkdir(parents=True)
    (out / "student" / "stale.ipynb").write_text("{}")
    report = release(src, out)
    assert not (out / "student" / "stale.ipynb").exists()
    assert report.notebooks == ["a.ipynb"] and report.exercises == ["1.3"]
    assert "released 1 notebook(s) with 1 exercise(s): 1.3" == str(report)


def test_checkpoints_and_build_folders_are_skipped(tmp_path):
    src = tmp_path / "src"
    write_notebook(src / "a.ipynb", GOOD_CELL)
    write_notebook(src / ".ipynb_checkpoints" / "a-checkpoint.ipynb", "### BEGIN SOLUTION\n")
    write_notebook(src / "_build" / "b.ipynb", "### BEGIN SOLUTION\n")
    assert release(src, tmp_path / "out").notebooks == ["a.ipynb"]


# -- strip_solutions and student_version -------------------------------------------------------------
def test_strip_solutions_keeps_the_marker_indentation():
    src = ("# Exercise 2.3: step\nclass Opt:\n    def step(self):\n        x = 1\n        ### BEGIN SOLUTION\n"
           "        self.p -= self.lr * self.g\n        ### END SOLUTION\n        return x\n")
    student, solution, ex_id = strip_solutions(src)
    assert ex_id == "2.3"
    assert solution == ["        self.p -= self.lr * self.g"]
    assert student.splitlines() == ["# Exercise 2.3: step", "class Opt:", "    def step(self):", "        x = 1",
                                    '        raise NotImplementedError("Exercise 2.3: replace this line with '
                                    'your code")', "        return x"]


def test_strip_solutions_without_an_exercise_header():
    student, solution, ex_id = strip_solutions("### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
    assert ex_id is None and solution == ["y = 2"]
    assert student == 'raise NotImplementedError("replace this line with your code")'


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "without a matching"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside another solution block"),
])
def test_malformed_blocks_fail_naming_the_notebook_and_cell(tmp_path, capsys, source, problem):
    with pytest.raises(ReleaseError, match=problem):
        strip_solutions(source, "here")
    src = tmp_path / "src"
    write_notebook(src / "sub" / "bad.ipynb", "x = 1", source)
    with pytest.raises(ReleaseError) as info:
        release(src, tmp_path / "out")
    assert str(Path("sub") / "bad.ipynb") + ", cell 1" in str(info.value)
    assert problem in str(info.value)
    code, _, err = run_main(capsys, "release", "--source", src, "--out", tmp_path / "out2")
    assert code == 1
    assert "release failed" in err and "bad.ipynb, cell 1" in err


def test_student_version_does_not_modify_the_instructor_notebook(tmp_path):
    path = write_notebook(tmp_path / "a.ipynb", GOOD_CELL, 'check("1.3", sigmoid_prime)', "print(1)")
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    student, solution, exercises = student_version(nb)
    assert nbformat.writes(nb) == before
    assert exercises == ["1.3"] and len(solution) == 2
    assert [bool(c.outputs) for c in student.cells] == [False, False, True]


def test_find_leaks_ignores_trivial_lines():
    assert find_leaks("    return\nx = 1\n    pass", ["    return", "pass", "# a comment here!", "x = 1"]) == []
    assert find_leaks("    result = alpha + beta\n", ["result = alpha + beta"]) == ["result = alpha + beta"]


def test_a_leaking_notebook_fails_the_release(tmp_path):
    src = tmp_path / "src"
    leaky = "# a hint that gives the answer away\ns = 1 / (1 + np.exp(-x))\n"
    write_notebook(src / "leaky.ipynb", GOOD_CELL, leaky)
    with pytest.raises(ReleaseError, match=r"leaky.ipynb: solution text left in the student version"):
        release(src, tmp_path / "out")
    proc = run_cli("release", "--source", src, "--out", tmp_path / "out2")
    assert proc.returncode == 1
    assert "solution text left" in proc.stderr and "s = 1 / (1 + np.exp(-x))" in proc.stderr
    assert not (tmp_path / "out2" / "student" / "leaky.ipynb").exists()


def test_out_inside_the_source_folder_is_refused(tmp_path, capsys):
    src = tmp_path / "src"
    write_notebook(src / "a.ipynb", GOOD_CELL)
    for out in (src, src / "release", src / "a" / "b"):
        with pytest.raises(ValueError, match="out must be outside the source folder"):
            release(src, out)
    assert sorted(p.name for p in src.iterdir()) == ["a.ipynb"]
    code, _, err = run_main(capsys, "release", "--source", src, "--out", src / "release")
    assert code == 1 and "out must be outside the source folder" in err
    proc = run_cli("release", "--out", UNITS / "released")  # the default source: the course's units/
    assert proc.returncode == 1 and "release failed: out must be outside" in proc.stderr
    assert not (UNITS / "released").exists()


def test_a_missing_source_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="source must be a folder of notebooks"):
        release(tmp_path / "nope", tmp_path / "out")


def test_the_cli_requires_out(capsys):
    with pytest.raises(SystemExit) as info:
        main(["release"])
    assert info.value.code == 2 and "--out" in capsys.readouterr().err


def test_release_lays_out_a_student_and_an_instructor_book(tmp_path):
    from dlcourse.grading.release import assemble_books

    src = tmp_path / "repo"
    write_notebook(src / "units" / "a.ipynb", GOOD_CELL)
    (src / "_toc.yml").write_text("format: jb-book\nroot: course/intro\n")
    (src / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: cache\n")
    (src / "tools").mkdir()
    (src / "tools" / "site_assets.py").write_text("")
    (src / "course").mkdir()
    (src / "course" / "intro.md").write_text("# Intro\n")
    release(src / "units", tmp_path / "out")
    books = assemble_books(src, tmp_path / "out")
    assert [b.name for b in books] == ["student-book", "instructor-book"]
    for book in books:
        assert (book / "_toc.yml").exists() and (book / "course" / "intro.md").exists()
        assert (book / "tools" / "site_assets.py").exists()
        assert 'execute_notebooks: "off"' in (book / "_config.yml").read_text()
    student = (books[0] / "units" / "a.ipynb").read_text()
    assert "NotImplementedError" in student and "BEGIN SOLUTION" not in student
    assert "BEGIN SOLUTION" in (books[1] / "units" / "a.ipynb").read_text()


def test_the_students_book_leaves_out_the_instructors_pages(tmp_path):
    """Grading, its threat model and the errata of the source notes are for the solutions site only."""
    from dlcourse.grading.release import assemble_books

    release(ROOT / "units", tmp_path / "out")
    student, instructor = assemble_books(ROOT, tmp_path / "out")
    for page in ("instructors", "hub"):
        assert not (student / "course" / f"{page}.md").exists()
        assert f"course/{page}" not in (student / "_toc.yml").read_text()
        assert (instructor / "course" / f"{page}.md").exists()
        assert f"course/{page}" in (instructor / "_toc.yml").read_text()
    pages = "\n".join(p.read_text() for p in (student / "course").glob("*.md"))
    assert "instructors.md" not in pages and "hub.md" not in pages   # no link from a student page to a dropped one
