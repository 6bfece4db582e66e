"""What the grading tests share: instructor solutions, notebook writers, reading a grade run's CSV."""

import csv
from pathlib import Path

import nbformat

from dlcourse.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
UNIT_DIRS = {int(p.name[:2]): p for p in sorted((ROOT / "units").glob("0*"))}
# Short limits: the attacks that loop or hang cost seconds, not minutes.
FAST = Limits(total_seconds=25, cell_seconds=4, call_seconds=3, memory_mb=2048, max_processes=48)


def solution_cells(unit: int) -> dict:
    """Exercise id -> the instructor's solution cell of ``unit``."""
    cells = {}
    for path in sorted(UNIT_DIRS[unit].glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
                ex_id = cell.source.split("Exercise ")[1].split(":")[0]
                cells[ex_id] = cell.source
    return cells


def write_nb(path: Path, sources: list) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def copy_unit(unit: int, dest: Path) -> Path:
    """The instructor notebooks of ``unit`` as one student's folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for nb in UNIT_DIRS[unit].glob("*.ipynb"):
        (dest / nb.name).write_bytes(nb.read_bytes())
    return dest


def rows(out: Path) -> dict:
    with (out / "grades.csv").open(encoding="utf-8", newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def scores(row: dict, ids) -> list:
    return [float(row[f"exercise {i}"]) for i in ids]
