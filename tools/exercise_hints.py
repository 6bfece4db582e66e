"""Write each exercise's hint levels into the notebooks, from the registry (``Exercise.hints``).

The cell right above an exercise cell (``# Exercise N.k: name``) is its hint cell: one ``<details>`` block per
level, exactly :func:`dlcourse.checks.exercise.hints_markdown`. A notebook whose exercise has no hint cell yet gets
one; an older single ``<details><summary>Hint</summary>`` block at the end of the task cell is removed. Only hint
cells (and that trailing block) change, so other edits of the markdown survive.

    .venv/bin/python tools/exercise_hints.py            # every notebook under units/
    .venv/bin/python tools/exercise_hints.py --check    # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcourse.checks import get_exercise  # noqa: E402
from dlcourse.checks.exercise import hints_markdown  # noqa: E402

HEADER = re.compile(r"^# Exercise (\d+\.\d+): (\w+)")
OLD_HINT = re.compile(r"\n*<details><summary>Hint</summary>.*?</details>\s*$", re.S)


def is_hint_cell(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith("<details><summary>Hint 1")


def update(nb) -> list[str]:
    """Bring the hint cells of ``nb`` up to date; return the ids of the exercises whose hints changed."""
    changed = []
    i = 0
    while i < len(nb.cells):
        header = HEADER.match(nb.cells[i].source) if nb.cells[i].cell_type == "code" else None
        if not header:
            i += 1
            continue
        text = hints_markdown(get_exercise(header.group(1)))
        above = nb.cells[i - 1]
        if is_hint_cell(above):
            if above.source != text:
                above.source = text
                changed.append(header.group(1))
        else:
            if above.cell_type == "markdown":
                above.source = OLD_HINT.sub("", above.source).rstrip()
            nb.cells.insert(i, nbformat.v4.new_markdown_cell(text))
            changed.append(header.group(1))
            i += 1
        i += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: units/)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    paths = []
    for p in args.paths or [ROOT / "units"]:
        paths += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    stale = 0
    for path in paths:
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        changed = update(nb)
        if changed:
            stale += 1
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: hints of {', '.join(changed)}"
                  + (" out of date" if args.check else " written"))
            if not args.check:
                nbformat.write(nb, path)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
