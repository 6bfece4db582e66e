"""No dead code in dlcourse/explore: every public module-level function or class is used somewhere.

"Used" means its name appears, outside its own definition, in the package, the tests, the notebooks,
the tools or the benchmarks (a plain word search: a name mentioned only in prose still counts, so this
errs on the side of keeping). Run it alone with ``python tests/test_dead_code.py`` to list offenders.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ("dlcourse", "tests", "units", "tools", "benchmarks")
SUFFIXES = {".py", ".ipynb", ".md"}


def _corpus() -> str:
    parts = []
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in SUFFIXES and ".ipynb_checkpoints" not in path.parts and path.is_file():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def unreferenced(folder: str = "dlcourse/explore") -> list[str]:
    """``file:line name`` of the public functions and classes of ``folder`` that nothing refers to."""
    corpus = _corpus()
    found = []
    for path in sorted((ROOT / folder).glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                uses = len(re.findall(rf"\b{re.escape(node.name)}\b", corpus))
                definitions = len(re.findall(rf"^\s*(?:def|class) {re.escape(node.name)}\b", corpus, re.M))
                if uses <= definitions:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return found


def test_every_public_function_in_explore_is_used():
    assert unreferenced() == [], "unreferenced public functions (delete them, or make them private):\n" + \
        "\n".join(unreferenced())


if __name__ == "__main__":
    names = unreferenced(*sys.argv[1:])
    print("\n".join(names) or "nothing unreferenced")
    sys.exit(1 if names else 0)
