"""What the tests of every unit's exercises share (tests/test_checks_unitN.py).

* :func:`assert_caught`: a plausible wrong answer gets the right status, a message with the expected fragment,
  the test case's number and a pointer to a hint level (never a solution line); and when the message reports a
  value, the value it names as received and
  as expected are recomputed here from the function and the reference on that same case.
* :func:`notebook_solutions` and :func:`assert_solutions_pass`: every solution written between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a unit's notebooks passes its own check.
"""

from __future__ import annotations

import builtins
import functools
import keyword
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
                     r"expected (?P<exp>\S+?)(?: \((?P<pattern>.*)\))?$")
# The last line of every failure message: which hint level to open next.
NEXT_HINT = re.compile(r"\nOpen hint (?P<level>[1-3]) above the exercise \((?P<title>[^)]*)\)(?:; if it does not help, "
                       r"hint (?P<next>[2-3]) \([^)]*\))?\.$")
HEADER = re.compile(r"^# Exercise (\d+\.\d+): (\w+)", re.MULTILINE)


def problem_of(message: str) -> str:
    """The problem a check message reports, without the test case's description and the hint pointer."""
    first = message.split("\n")[0]
    return first[first.rindex("): ") + 3:].rstrip(".")


def assert_caught(ex_id: str, fn, status: str, fragment: str, seed: int, abs_tol: float = 1e-300):
    """Check ``fn`` against exercise ``ex_id`` and verify the message (see the module's docstring)."""
    ex = get_exercise(ex_id)
    result = check(ex_id, fn, rng=seed)
    assert result.status == status, result.message
    assert not result.passed
    assert fragment in result.message, result.message
    assert_points_to_a_hint(ex, result.message)
    leaks = leaked_lines(result.message, solution_lines_by_exercise().get(ex_id, []))
    assert not leaks, f"the message gives the solution away: {leaks}\n{result.message}"
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


def assert_points_to_a_hint(ex, message: str) -> None:
    """The message ends by naming a hint level the exercise has (and the next one, if there is one)."""
    m = NEXT_HINT.search(message)
    assert m, message
    level = int(m["level"])
    assert 1 <= level <= len(ex.hints), message
    assert (m["next"] is not None) == (level < len(ex.hints)), message


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
            result = check(ex_id, env[name], rng=seed)
            assert result.status == PASSED, f"{notebook}: {result}"


# -- no hint and no message gives a solution line away ---------------------------------------------------------
BLANK = "____"
_KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"np", "math", "self"}
_TOKEN = re.compile(r"_{4,}|[A-Za-z_]\w*|\d+\.?\d*(?:e-?\d+)?|\S")
TRIVIAL = {"", "return", "pass", "else:", "try:", "continue", "break", ")", "]", "}"}


@functools.lru_cache(maxsize=1)
def solution_lines_by_exercise() -> dict[str, list[str]]:
    """``{exercise id: the lines between BEGIN and END SOLUTION}`` over every notebook of the course."""
    found = {}
    for path in sorted((ROOT / "units").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            header = HEADER.search(cell.source) if cell.cell_type == "code" else None
            if header and "### BEGIN SOLUTION" in cell.source:
                body = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
                found[header.group(1)] = [ln for ln in body.splitlines() if ln.strip()]
    return found


def squeeze(text: str) -> str:
    """Whitespace and Markdown backticks removed: what a line looks like wherever it is quoted."""
    return re.sub(r"\s+", "", text.replace("`", ""))


def rename(code: str) -> str:
    """``code`` squeezed, with every variable name written ``V`` (attribute names after a dot, keywords, builtins,
    ``np`` and blanks ``____`` kept), so that a line copied with other names still matches."""
    out, prev = [], ""
    for tok in _TOKEN.findall(code):
        if tok.startswith("____"):
            tok = BLANK
        elif re.match(r"[A-Za-z_]", tok) and tok not in _KEEP and prev != ".":
            tok = "V"
        out.append(tok)
        prev = tok
    return "".join(out)


def _expression(line: str) -> str:
    """The part of a solution line that carries the answer: the right-hand side of an assignment, or what is
    returned; the whole line otherwise."""
    s = line.strip()
    if s.startswith("return "):
        return s[len("return "):]
    m = re.match(r"^([^=]+?)(?<![=!<>+\-*/%@])=(?!=)(.+)$", s)
    if m and m.group(1).count("(") == m.group(1).count(")"):
        return m.group(2)
    return s


_OPERATOR = re.compile(r"\*\*|//|==|<=|>=|!=|[-+*/@%<>=~&|]")
_SIGNIFICANT = re.compile(r"_{4,}|[A-Za-z_]\w*|\d+\.?\d*(?:e-?\d+)?|\*\*|//|==|<=|>=|!=|[-+*/@%<>=~&|]"
                          r"|\"[^\"]*\"|'[^']*'")
NGRAM = 7


def significant_tokens(code: str) -> list[str]:
    """Names, numbers (``1.0`` and ``1`` alike), strings and operators; brackets, commas and dots dropped."""
    out = []
    for tok in _SIGNIFICANT.findall(code.replace("`", "")):
        if tok[0].isdigit():
            tok = repr(float(tok))
        elif tok.startswith("'"):
            tok = '"' + tok[1:-1] + '"'
        out.append(tok)
    return out


def is_substantive(line: str) -> bool:
    """A solution line that says something: longer than 8 characters (whitespace removed), not a comment, and
    computing something (an operator, a call or an index), unlike ``return out`` or ``else:``."""
    s = line.strip()
    if s.startswith("#") or len(squeeze(s)) <= 8:
        return False
    return re.search(r"[-+*/@%<>(\[]", _expression(s)) is not None


def _contains(seq: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1))


def _code_blocks(text: str) -> list[str]:
    """The lines of the fenced code blocks of a Markdown text (a skeleton)."""
    return [ln for block in re.findall(r"```\w*\n(.*?)```", text, re.S) for ln in block.splitlines()]


def _parts(expr: str) -> list[list[str]]:
    """The comma-separated parts of an expression at bracket depth 0 (the values of ``return a, b, c``), as
    significant tokens, when a part computes something with at least 3 tokens (``da @ weight_ih``)."""
    parts, depth, current = [], 0, ""
    for ch in expr:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    if len(parts) < 2:
        return []
    tokens = [significant_tokens(p) for p in parts]
    return [t for t, p in zip(tokens, parts) if len(t) >= 3 and (_OPERATOR.search(p) or "(" in p)]


def leaked_lines(text: str, solution: list[str]) -> list[str]:
    """The solution lines that ``text`` (a hint, a hint cell, a failure message) gives away.

    A line leaks when (1) it appears verbatim as a line of ``text`` (the release tool's rule: stripped, longer
    than 8 characters, not trivial); or, for a line that computes something, when (2) the line or the expression
    it computes appears anywhere in ``text`` with the whitespace removed, (3) a code line of ``text`` is the
    same line with other variable names, or (4) ``text`` holds a run of 7 consecutive names, numbers and
    operators of the expression (or all of it, if shorter, from 4 on) — a fragment such as ``w + lr * y * x`` —
    or (5) a code span or skeleton line of ``text`` holds one of the values a line returns (``da @ weight_ih``).
    """
    lines = {ln.strip() for ln in text.splitlines()}
    flat = squeeze(text)
    code = [ln for ln in text.splitlines() if ln.strip()] + re.findall(r"`([^`\n]+)`", text)
    renamed = {rename(ln.split("#")[0]) for ln in code}
    tokens = significant_tokens(text)
    code_tokens = [significant_tokens(c) for c in re.findall(r"`([^`\n]+)`", text) + _code_blocks(text)]
    leaks = []
    for line in solution:
        s = line.strip()
        if s not in TRIVIAL and not s.startswith("#") and len(s) > 8 and s in lines:
            leaks.append(s)
            continue
        if not is_substantive(s):
            continue
        expr = _expression(s)
        computes = _OPERATOR.search(expr) is not None or "(" in expr    # not a bare name or lookup
        forms = {squeeze(s)} | ({squeeze(expr)} if computes and len(squeeze(expr)) > 8 else set())
        expr_tokens = significant_tokens(expr)
        if len(expr_tokens) > NGRAM:
            grams = [expr_tokens[i:i + NGRAM] for i in range(len(expr_tokens) - NGRAM + 1)]
        else:
            grams = [expr_tokens] if computes and len(expr_tokens) >= 4 else []
        if (any(f in flat for f in forms) or rename(s) in renamed
                or (computes and len(squeeze(expr)) > 8 and rename(expr) in renamed)
                or any(_contains(tokens, g) for g in grams)
                or any(_contains(ct, part) for part in _parts(expr) for ct in code_tokens)):
            leaks.append(s)
    return leaks
