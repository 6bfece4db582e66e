"""What the tests of every unit's exercises share (tests/test_checks_unitN.py).

* :func:`assert_caught`: a plausible wrong answer gets the right status, a message with the expected fragment,
  the test case's number and the hint; and when the message reports a value, the value it names as received and
  as expected are recomputed here from the function and the reference on that same case.
* :func:`notebook_solutions` and :func:`assert_solutions_pass`: every solution written between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a unit's notebooks passes its own check.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.checks import PASSED, WRONG, check, get_exercise
from dlcourse.checks.exercise import as_outputs

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 2]

# "<output> at index (i, j) is <received>, expected <expected> (every value ...)" — the check's first problem
PROBLEM = re.compile(r"^(?P<key>.+?)(?: at index (?P<idx>\([\d, ]*\)))? is (?P<rec>\S+?)(?: \(not finite\))?, "
                     r"expected (?P<exp>\S+?)(?: \((?P<pattern>every value .*)\))?$")
HEADER = re.compile(r"^# Exercise (\d+\.\d+): (\w+)", re.MULTILINE)


def problem_of(message: str) -> str:
    """The problem a check message reports, without the test case's description and the hint."""
    first = message.split("\nHint:")[0]
    return first[first.rindex("): ") + 3:].rstrip(".")


def assert_caught(ex_id: str, fn, status: str, fragment: str, seed: int, abs_tol: float = 1e-300):
    """Check ``fn`` against exercise ``ex_id`` and verify the message (see the module's docstring)."""
    ex = get_exercise(ex_id)
    result = check(ex_id, fn, seed=seed)
    assert result.status == status, result.message
    assert not result.passed
    assert fragment in result.message, result.message
    assert result.message.endswith("\nHint: " + ex.hint)
    assert f"test case {result.cases_passed + 1}" in result.message
    if status != WRONG or "not what the exercise asks for" in result.message:
        return
    case = ex.cases(np.random.default_rng(seed))[result.cases_passed]
    expected = as_outputs(ex.run(ex.reference, case), ex.outputs)
    got = as_outputs(ex.run(fn, case), ex.outputs)
    problem = problem_of(result.message)
    if " is missing" in problem or " has shape " in problem:
        key = problem.split(" is missing")[0].split(" has shape ")[0]
        assert key in expected
        assert key not in got or got[key].shape != expected[key].shape
        if " has shape " in problem:
            assert f"has shape {got[key].shape}, expected {expected[key].shape}" in problem
        return
    m = PROBLEM.match(problem)
    assert m, problem
    key = m["key"]
    assert key in expected
    idx = tuple(int(i) for i in re.findall(r"\d+", m["idx"])) if m["idx"] else ()
    assert float(m["exp"]) == pytest.approx(expected[key][idx], rel=1e-5, abs=abs_tol)
    received = float(m["rec"])
    if np.isfinite(got[key][idx]):
        assert received == pytest.approx(got[key][idx], rel=1e-5, abs=abs_tol)
    else:
        assert not np.isfinite(received)
    assert not np.isclose(got[key][idx], expected[key][idx], rtol=ex.rtol, atol=ex.atol)


def notebook_solutions(folder: str) -> dict[str, list[str]]:
    """``{notebook name: its solution cells, in order}`` for the notebooks of ``units/<folder>``."""
    found = {}
    for path in sorted((ROOT / "units" / folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c.source for c in nb.cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
        if cells:
            found[path.name] = cells
    return found


def solution_ids(solutions: dict[str, list[str]]) -> list[str]:
    """The exercise ids of all solution cells, sorted as 1.2 < 1.10."""
    ids = [HEADER.search(src).group(1) for cells in solutions.values() for src in cells]
    return sorted(ids, key=lambda i: tuple(int(p) for p in i.split(".")))


def assert_solutions_pass(notebook: str, cells: list[str], namespace: dict | None = None, shared: bool = True):
    """Run a notebook's solution cells in order, starting from ``namespace``, and check each.

    With ``shared``, later cells see what earlier ones defined (as in the notebook); without, each cell must
    import what it needs.
    """
    base = {"__name__": "__notebook__", **(namespace or {})}
    env = dict(base)
    for src in cells:
        header = HEADER.search(src)
        assert header, f"{notebook}: a solution cell without an '# Exercise X.Y: name' header"
        ex_id, name = header.groups()
        assert get_exercise(ex_id).name == name
        if not shared:
            env = dict(base)
        exec(compile(src, f"{notebook}:{ex_id}", "exec"), env)
        for seed in (0, 1, None):
            result = check(ex_id, env[name], seed=seed)
            assert result.status == PASSED, f"{notebook}: {result}"
