"""No dead code in dlcourse: every public module-level function or class is used by some code.

"Used" means a code reference outside its own definition: a name, an attribute (``module.name``) or an
import, in the Python files of the package, the tests, the tools and the benchmarks, or in a code cell
of a notebook (``units/``, ``course/``). A mention in prose (a comment, a docstring, a markdown cell)
does not count. A public function that only the tests call is API, and is kept; one that nothing
calls is dead. Run it alone with ``python tests/test_dead_code.py [folder]`` to list offenders.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("dlcourse", "tests", "tools", "benchmarks")      # Python files there are users
NOTEBOOKS = ("units", "course")                          # so are the code cells of the notebooks there
SKIPPED = {".ipynb_checkpoints", "_build", "_artifacts", ".venv"}


def _files(folder: str, suffix: str):
    return (path for path in sorted((ROOT / folder).rglob(f"*{suffix}"))
            if path.is_file() and not SKIPPED.intersection(path.relative_to(ROOT).parts))


def _code_cells(path: Path) -> str:
    """A notebook's code cells, IPython magics (``%``, ``!`` lines) blanked so that ``ast`` can read them."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _references(node: ast.AST, owner: str | None, uses: Counter) -> None:
    """Count the names ``node`` refers to, except ``owner`` (the definition being walked: recursion is no use)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names = [sub.id]
        elif isinstance(sub, ast.Attribute):
            names = [sub.attr]
        elif isinstance(sub, ast.alias):
            names = [sub.name.split(".")[-1]] + ([sub.asname] if sub.asname else [])
        else:
            continue
        uses.update(n for n in names if n != owner)


def _count_uses(source: str, uses: Counter) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:   # a cell with a blank to fill in (``____``): count its words, to err on the side of keeping
        uses.update(re.findall(r"\w+", source))
        return
    for statement in tree.body:
        owner = statement.name if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
        _references(statement, owner, uses)


def code_uses() -> Counter:
    """How many times each name is referenced by code (see the module docstring)."""
    uses = Counter()
    for folder in CODE:
        for path in _files(folder, ".py"):
            _count_uses(path.read_text(encoding="utf-8", errors="replace"), uses)
    for folder in NOTEBOOKS:
        for path in _files(folder, ".ipynb"):
            _count_uses(_code_cells(path), uses)
    return uses


def unreferenced(folder: str = "dlcourse") -> list[str]:
    """``file:line name`` of the public module-level functions and classes under ``folder`` that no code uses."""
    uses = code_uses()
    found = []
    for path in _files(folder, ".py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not node.name.startswith("_") and uses[node.name] == 0:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return found


def test_every_public_function_in_the_package_is_used():
    """Fails on a public function or class of dlcourse/ that no code calls (say ``tune_digits_learning_rate``
    as it was in explore/unit3_real_race.py, named only in a comment)."""
    found = unreferenced()
    assert found == [], "unreferenced public functions (delete them, or make them private):\n" + "\n".join(found)


def test_the_finder_counts_code_and_notebook_code_cells_but_not_prose(tmp_path, monkeypatch):
    """Each ``dead_*`` function must be flagged and each ``kept_*`` one not: a finder that counted prose
    (the comment, the docstring, the markdown cell), recursion, or that missed the notebook's code cell or
    the tests would fail here."""
    package = tmp_path / "dlcourse" / "explore"
    package.mkdir(parents=True)
    (package / "lab.py").write_text(
        "# dead_in_comment is mentioned here only\n"
        "def dead_in_comment():\n    pass\n\n\n"
        "def dead_recursive(n):\n    return dead_recursive(n - 1) if n else 0\n\n\n"
        "def dead_in_docstring():\n    \"\"\"Unlike dead_in_markdown.\"\"\"\n\n\n"
        "def dead_in_markdown():\n    pass\n\n\n"
        "def kept_called():\n    pass\n\n\n"
        "def kept_in_notebook():\n    pass\n\n\n"
        "def kept_by_tests():\n    pass\n\n\n"
        "class kept_base:\n    pass\n\n\n"
        "class Child(kept_base):\n    pass\n\n\n"
        "def _private():\n    pass\n\n\n"
        "kept_called()\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_lab.py").write_text(
        "from dlcourse.explore import lab\n\n\ndef test_it():\n    lab.kept_by_tests()\n    lab.Child()\n")
    unit = tmp_path / "units" / "01-x"
    unit.mkdir(parents=True)
    cells = [{"cell_type": "markdown", "source": ["Call `dead_in_markdown()`."]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "from dlcourse.explore.lab import kept_in_notebook\n",
                                              "kept_in_notebook()"]}]
    (unit / "1.1-x.ipynb").write_text(json.dumps({"cells": cells}))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [entry.split()[-1] for entry in unreferenced()] == [
        "dead_in_comment", "dead_recursive", "dead_in_docstring", "dead_in_markdown"]


if __name__ == "__main__":
    names = unreferenced(*sys.argv[1:])
    print("\n".join(names) or "nothing unreferenced")
    sys.exit(1 if names else 0)
