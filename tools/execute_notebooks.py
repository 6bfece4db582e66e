"""Execute notebooks in place (outputs saved, widget state not stored) and report the time of each.

Usage: python tools/execute_notebooks.py [NOTEBOOK_OR_FOLDER ...]   (default: units/)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def notebooks(args: list[str]) -> list[Path]:
    paths = [Path(a) for a in args] or [ROOT / "units"]
    found = []
    for p in paths:
        found += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   store_widget_state=False).execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


if __name__ == "__main__":
    # The committed outputs are what GitHub, nbval and the released books show: a progress bar there would be
    # frozen at its first state (0 %). Students running the notebooks see the bars; the saved copies do not.
    os.environ["TQDM_DISABLE"] = "1"
    for nb_path in notebooks(sys.argv[1:]):
        print(f"{execute(nb_path):6.1f} s  {nb_path.relative_to(ROOT) if nb_path.is_absolute() else nb_path}",
              flush=True)
