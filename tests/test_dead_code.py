"""No dead code in dlcourse/explore: every public module-level function or class is used somewhere.

"Used" means its name appears, outside its own definition, in the package, the tests, the notebooks,
the tools or the benchmarks (a plain word search: a name mentioned only in prose still counts, so this
errs on the side of keeping). Run it alone with ``python tests/test_dead_code.py`` to list offenders.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ("dlcourse", "tests", "units", "tools", "benchmarks")
SUFFIXES = {".py", ".ipynb", ".md"}


def _text(path: Path) -> str:
    """A file's text; for a notebook, its cells' sources only (not the outputs)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return text


def _corpus() -> str:
    return "\n".join(_text(path) for folder in SEARCHED for path in sorted((ROOT / folder).rglob("*"))
                     if path.suffix in SUFFIXES and ".ipynb_checkpoints" not in path.parts and path.is_file())


def unreferenced(folder: str = "dlcourse/explore") -> list[str]:
    """``file:line name`` of the public functions and classes of ``folder`` that nothing refers to."""
    corpus = _corpus()
    words = Counter(re.findall(r"\w+", corpus))
    definitions = Counter(re.findall(r"^\s*(?:def|class) (\w+)", corpus, re.M))
    found = []
    for path in sorted((ROOT / folder).glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if words[node.name] <= definitions[node.name]:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return found


def test_every_public_function_in_explore_is_used():
    assert unreferenced() == [], "unreferenced public functions (delete them, or make them private):\n" + \
        "\n".join(unreferenced())


def test_the_finder_flags_a_function_nothing_calls(tmp_path, monkeypatch):
    explore = tmp_path / "dlcourse" / "explore"
    explore.mkdir(parents=True)
    (explore / "lab.py").write_text("def plot_unused(fig, d):\n    pass\n\n\ndef used():\n    pass\n\n\n"
                                    "def _private():\n    pass\n\n\nused()\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert unreferenced() == ["dlcourse/explore/lab.py:1 plot_unused"]


if __name__ == "__main__":
    names = unreferenced(*sys.argv[1:])
    print("\n".join(names) or "nothing unreferenced")
    sys.exit(1 if names else 0)
