"""Write student notebooks from the instructor notebooks.

Solutions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
markers). The student version replaces each such block with one line,
``raise NotImplementedError("Exercise 1.3: …")``, indented like the marker, and
clears the outputs of solution and check cells. A leak check then fails the
release if any line of any solution survives in a student notebook.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
EXERCISE_RE = re.compile(r"Exercise (\d+\.\d+)")


class ReleaseError(RuntimeError):
    """A malformed solution block, or solution text left in a student notebook."""


@dataclass
class ReleaseReport:
    notebooks: list = field(default_factory=list)
    exercises: list = field(default_factory=list)

    def __str__(self) -> str:
        return (f"released {len(self.notebooks)} notebook(s) with {len(self.exercises)} exercise(s): "
                + ", ".join(self.exercises))


def strip_solutions(source: str, where: str = "cell") -> tuple[str, list[str], str | None]:
    """Return ``(student_source, solution_lines, exercise_id)`` for one cell's source."""
    match = EXERCISE_RE.search(source)
    ex_id = match.group(1) if match else None
    out, solution, inside, indent = [], [], False, ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ReleaseError(f"{where}: {BEGIN} inside another solution block")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            label = f"Exercise {ex_id}: " if ex_id else ""
            out.append(f'{indent}raise NotImplementedError("{label}replace this line with your code")')
        elif stripped == END:
            if not inside:
                raise ReleaseError(f"{where}: {END} without a matching {BEGIN}")
            inside = False
        elif inside:
            solution.append(line)
        else:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out), solution, ex_id


FUNCTION_RE = re.compile(r"Exercise \d+\.\d+:\s*(\w+)")
NBVAL_MARKER = re.compile(r"^#\s*NBVAL_\w+[^\n]*\n?", re.MULTILINE)


INSTALL_CELL = """\
# Where the course package is missing (e.g. on Colab), this cell installs it; elsewhere it does nothing.
try:
    import dlcourse
except ImportError:
    %pip install --quiet "dlcourse @ {url}"
"""


def student_version(nb, where: str = "notebook", install_from: str | None = None):
    """A copy of ``nb`` with solutions stubbed and exercise outputs cleared; also the solution lines.

    Outputs are cleared in solution cells, check cells, and every later cell that uses an exercise's
    function (its output came from the solution). Test markers (``# NBVAL_...``) are removed. With
    ``install_from`` (a pip requirement URL such as ``git+https://github.com/ORG/REPO``), a guarded cell that
    installs ``dlcourse`` where it is missing goes first.
    """
    nb = nbformat.from_dict(nb)
    all_solution, exercises, functions = [], [], set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        uses_solution = any(re.search(rf"(?<![\w.]){re.escape(f)}\b", cell.source) for f in functions)
        if BEGIN in cell.source or END in cell.source:
            cell.source, lines, ex_id = strip_solutions(cell.source, f"{where}, cell {i}")
            all_solution += lines
            if ex_id:
                exercises.append(ex_id)
            functions.update(FUNCTION_RE.findall(cell.source))
            _clear(cell)
        elif uses_solution or re.search(r"\bcheck\(", cell.source):
            _clear(cell)
        cell.source = NBVAL_MARKER.sub("", cell.source)
    if install_from:
        nb.cells.insert(0, nbformat.v4.new_code_cell(INSTALL_CELL.format(url=install_from), id="install-dlcourse"))
    nb.metadata["dlcourse"] = {"version": "student"}
    return nb, all_solution, exercises


def _clear(cell) -> None:
    cell.outputs = []
    cell.execution_count = None


def find_leaks(student_source: str, solution_lines: list[str]) -> list[str]:
    """Solution lines (ignoring trivial ones) that appear verbatim in the student text."""
    body = {ln.strip() for ln in student_source.splitlines()}
    trivial = {"", "return", "pass", "else:", "try:", "continue", "break", ")", "]", "}"}
    return [ln.strip() for ln in solution_lines
            if ln.strip() not in trivial and not ln.strip().startswith("#") and len(ln.strip()) > 8
            and ln.strip() in body]


def release(source: Path, out: Path) -> ReleaseReport:
    """Write ``out/student`` and ``out/instructor`` from the notebooks under ``source``."""
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ValueError(f"source must be a folder of notebooks, got {source}")
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise ValueError(f"out must be outside the source folder {source}, got {out}")
    report = ReleaseReport()
    for sub in ("student", "instructor"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for path in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or "_build" in path.parts:
            continue
        rel = path.relative_to(source)
        nb = nbformat.read(path, as_version=4)
        student, solution, exercises = student_version(nb, str(rel))
        text = nbformat.writes(student)
        leaks = find_leaks("\n".join(c.source for c in student.cells), solution)
        if leaks:
            raise ReleaseError(f"{rel}: solution text left in the student version: {leaks[:3]}")
        for sub in ("student", "instructor"):
            (out / sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / "student" / rel).write_text(text, encoding="utf-8")
        shutil.copyfile(path, out / "instructor" / rel)  # byte-identical to the source
        report.notebooks.append(str(rel))
        report.exercises += exercises
    return report


BOOK_FILES = ("_config.yml", "_toc.yml", "course", "tools")
# The instructors' pages (grading, its threat model, the errata of the source notes, the hub recipe) are published
# on the solutions site only: the students' site leaves this part of the table of contents out.
INSTRUCTOR_PART = re.compile(r"^  - caption: For instructors\n(?:    .*\n)+", re.MULTILINE)


def assemble_books(root: Path, out: Path) -> list[Path]:
    """Lay out ``out/student-book`` and ``out/instructor-book`` as complete book sources.

    Each holds the book's own files and the units of that version, so that
    ``jupyter-book build OUT/student-book`` publishes a site for the class and
    ``jupyter-book build OUT/instructor-book`` one with the solutions. The released books
    show the notebooks' saved outputs: executing them is turned off (a student notebook's
    exercise stubs would raise).
    """
    root, out = Path(root), Path(out)
    books = []
    for version in ("student", "instructor"):
        book = out / f"{version}-book"
        if book.exists():
            shutil.rmtree(book)
        book.mkdir(parents=True)
        for name in BOOK_FILES:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, book / name)
            elif src.exists():
                shutil.copy2(src, book / name)
        shutil.copytree(out / version, book / "units")
        if version == "student":
            _drop_instructor_pages(book)
        config = book / "_config.yml"
        if config.exists():
            text = re.sub(r"^(\s*execute_notebooks:).*$", r'\1 "off"', config.read_text(), flags=re.MULTILINE)
            config.write_text(text)
        books.append(book)
    return books


def _drop_instructor_pages(book: Path) -> None:
    """Remove the "For instructors" part of the students' book, its pages included."""
    toc = book / "_toc.yml"
    if not toc.exists():
        return
    text = toc.read_text()
    part = INSTRUCTOR_PART.search(text)
    if part is None:
        return
    for page in re.findall(r"file:\s*(\S+)", part.group(0)):
        (book / f"{page}.md").unlink(missing_ok=True)
    toc.write_text(text.replace(part.group(0), ""))
