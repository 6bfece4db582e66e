"""benchmarks/bench_hub.py measures a kernel's peak memory and CPU time only for work that ran: a notebook
that raises makes its unit's row fail with the reason, never a number."""

import math
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_hub  # noqa: E402

pytestmark = pytest.mark.unit1


def unit(tmp_path, *sources):
    folder = tmp_path / "09-test"
    folder.mkdir()
    for i, src in enumerate(sources):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"9.{i + 1}.ipynb")
    return folder


def test_rows_report_the_heaviest_notebook_and_the_total_cpu_time(tmp_path):
    rows = bench_hub.unit_rows(unit(tmp_path, "x = 1", "import numpy as np\nbig = np.ones(40_000_000)\nbig.sum()"))
    memory, cpu = rows
    assert memory["ok"] and "9.2.ipynb" in memory["name"] and memory["value"] > 300   # 320 MB of ones
    assert cpu["ok"] and cpu["value"] > 0


def test_a_notebook_that_raises_fails_the_row(tmp_path):
    rows = bench_hub.unit_rows(unit(tmp_path, "x = 1", "raise RuntimeError('sabotaged')"))
    assert len(rows) == 1 and not rows[0]["ok"] and math.isnan(rows[0]["value"])
    assert "FAILED" in rows[0]["name"] and "sabotaged" in rows[0]["name"]


def test_a_unit_without_notebooks_fails_the_row(tmp_path):
    (tmp_path / "09-empty").mkdir()
    rows = bench_hub.unit_rows(tmp_path / "09-empty")
    assert not rows[0]["ok"] and "no notebooks" in rows[0]["name"]
