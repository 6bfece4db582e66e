"""What every exercise of every unit must do, whatever its unit: the reference passes its own
check on fresh and seeded inputs, and a function that raises something other than
NotImplementedError is reported as an error, pointing to a hint level. Every exercise has two or three hint
levels (the idea, the formula, a skeleton with blanks), the notebook shows exactly these above the exercise,
and neither a hint level, nor a hint cell, nor the message of any plausible wrong answer of
tests/test_checks_unitN.py contains a line of the exercise's solution (see ``leaked_lines``).

Unit-specific behaviour (stubs, plausible wrong answers, the notebooks' solutions) is tested in
tests/test_checks_unitN.py.
"""

import importlib
import re

import nbformat
import numpy as np
import pytest

import dlcourse.checks as checks
from dlcourse.checks import ERROR, EXERCISES, PASSED, WRONG, check, get_exercise
from dlcourse.checks.exercise import HINT_TITLES, Exercise, hints_markdown, next_hint
from dlcourse.checks.registry import _load_all
from exercise_support import (HEADER, ROOT, assert_points_to_a_hint, leaked_lines, rename, significant_tokens,
                              solution_lines_by_exercise)

_load_all()
ALL_IDS = sorted(EXERCISES, key=lambda i: tuple(int(p) for p in i.split(".")))
SEEDS = [0, 1, 2]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_the_reference_passes(ex_id):
    ex = get_exercise(ex_id)
    for seed in SEEDS + [None]:
        result = check(ex_id, ex.reference, rng=seed)
        assert result.status == PASSED and result.passed, result.message
        assert result.cases_passed == result.cases_total > 0
        assert str(result).startswith("✅ Exercise " + ex_id)


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_another_exception_is_an_error_pointing_to_a_hint(ex_id):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    result = check(ex_id, broken, rng=0)
    assert result.status == ERROR
    assert "raised KeyError: 'boom' on test case 1" in result.message
    assert result.message.endswith("\n" + next_hint(get_exercise(ex_id), 1))
    assert_points_to_a_hint(get_exercise(ex_id), result.message)


def test_every_unit_has_at_least_six_exercises():
    for unit in range(1, 6):
        assert sum(i.startswith(f"{unit}.") for i in ALL_IDS) >= 6, unit


# --------------------------------------------------------------------------- what a function returned
NAMED = [ex_id for ex_id in ALL_IDS if get_exercise(ex_id).outputs]


def test_exercises_returning_tuples_name_their_outputs():
    assert set(NAMED) >= {"1.6", "2.8", "3.2", "3.3", "3.4"}


@pytest.mark.parametrize("ex_id", NAMED)
def test_a_wrong_output_is_named(ex_id):
    ex = get_exercise(ex_id)
    last = ex.outputs[-1]

    def last_output_off(**kwargs):
        out = list(ex.reference(**kwargs))
        out[-1] = np.asarray(out[-1], dtype=float) + 1.0
        return tuple(out)

    result = check(ex_id, last_output_off, rng=0)
    assert result.status == WRONG and f"{last} " in result.message, result.message
    assert "output 1" not in result.message


@pytest.mark.parametrize("ex_id", NAMED)
def test_a_tuple_of_the_wrong_length_is_wrong_and_says_what_to_return(ex_id):
    ex = get_exercise(ex_id)

    def too_short(**kwargs):
        return tuple(ex.reference(**kwargs))[:-1]

    result = check(ex_id, too_short, rng=0)
    assert result.status == WRONG, result.message
    assert f"must return a tuple ({', '.join(ex.outputs)}), got a tuple of {len(ex.outputs) - 1} values" \
        in result.message
    assert "return value is not what the exercise asks for" in result.message


@pytest.mark.parametrize("returned, match", [(None, "got None (is the `return` line missing?)"), ("w", "got something else"),
                                             ([[1.0], [1.0, 2.0]], "got something else")])
def test_a_return_value_that_is_not_numbers_is_wrong_not_an_error(returned, match):
    result = check("1.2", lambda x: returned, rng=0)
    assert result.status == WRONG and match in result.message, result.message


def test_folds_returned_as_a_list_of_index_arrays_get_a_clear_message():
    def list_of_folds(y, k):
        return [np.arange(i, len(y), k) for i in range(k)]   # folds of different lengths, a ragged list

    result = check("4.1", list_of_folds, rng=0)
    assert result.status == WRONG
    assert "one fold id per sample" in result.message and "not a list of folds" in result.message
    assert "inhomogeneous" not in result.message


# --------------------------------------------------------------------------- hints in levels, and no answer given
SOLUTIONS = solution_lines_by_exercise()


def test_every_exercise_has_a_solution_in_a_notebook():
    assert sorted(SOLUTIONS, key=lambda i: tuple(int(p) for p in i.split("."))) == ALL_IDS


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_every_exercise_has_two_or_three_hint_levels(ex_id):
    ex = get_exercise(ex_id)
    assert 2 <= len(ex.hints) <= len(HINT_TITLES)
    assert ex.hint == ex.hints[0]                       # the first level, for older callers
    assert all(len(h.strip()) > 40 for h in ex.hints)
    if len(ex.hints) == 3:
        assert "____" in ex.hints[2] and "```python" in ex.hints[2]   # the skeleton has blanks


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_no_hint_level_contains_a_solution_line(ex_id):
    for level, text in enumerate(get_exercise(ex_id).hints, start=1):
        leaks = leaked_lines(text, SOLUTIONS[ex_id])
        assert not leaks, f"hint {level} of exercise {ex_id} gives away {leaks}"


def _wrong_answers():
    rows = []
    for unit in range(1, 6):
        module = importlib.import_module(f"test_checks_unit{unit}")
        for name in dir(module):                        # WRONG_ANSWERS, and tables such as NMS_WRONG_ANSWERS
            if name.endswith("WRONG_ANSWERS"):
                rows += [(ex_id, fn) for ex_id, fn, *_ in getattr(module, name)]
    return rows


WRONG_ANSWERS = _wrong_answers()


def test_the_wrong_answers_cover_every_exercise():
    assert {ex_id for ex_id, _ in WRONG_ANSWERS} == set(ALL_IDS)


@pytest.mark.parametrize("ex_id, fn", WRONG_ANSWERS, ids=[f"{e}-{f.__name__}" for e, f in WRONG_ANSWERS])
def test_no_failure_message_contains_a_solution_line(ex_id, fn):
    ex = get_exercise(ex_id)
    for seed in (0, 1):
        result = check(ex_id, fn, rng=seed)
        assert result.status != PASSED
        leaks = leaked_lines(result.message, SOLUTIONS[ex_id])
        assert not leaks, f"{result.message}\ngives away {leaks}"
        assert "Hint:" not in result.message           # a pointer to a level, never a hint's text
        assert_points_to_a_hint(ex, result.message)


# --------------------------------------------------------------------------- the notebooks' hint cells
def _exercise_cells():
    """``(notebook, index of the exercise cell, exercise id, cells)`` for every exercise cell of the course."""
    found = []
    for path in sorted((ROOT / "units").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            header = HEADER.match(cell.source) if cell.cell_type == "code" else None
            if header:
                found.append((path.name, i, header.group(1), cells))
    return found


EXERCISE_CELLS = _exercise_cells()


def test_every_exercise_cell_is_registered_once():
    assert sorted((e for _, _, e, _ in EXERCISE_CELLS), key=lambda i: tuple(int(p) for p in i.split("."))) == ALL_IDS


@pytest.mark.parametrize("notebook, index, ex_id, cells", EXERCISE_CELLS, ids=[c[2] for c in EXERCISE_CELLS])
def test_the_notebook_shows_the_hint_levels_above_the_exercise(notebook, index, ex_id, cells):
    hint_cell, task_cell = cells[index - 1], cells[index - 2]
    assert hint_cell.cell_type == "markdown"
    assert hint_cell.source == hints_markdown(get_exercise(ex_id)), f"{notebook}: run tools/exercise_hints.py"
    for level, title in enumerate(HINT_TITLES[:len(get_exercise(ex_id).hints)], start=1):
        assert f"<details><summary>Hint {level}: {title}</summary>" in hint_cell.source
    assert task_cell.cell_type == "markdown" and f"### Exercise {ex_id} " in task_cell.source
    assert "<summary>Hint" not in task_cell.source                       # no older single hint left behind
    leaks = leaked_lines(hint_cell.source, SOLUTIONS[ex_id])
    assert not leaks, f"{notebook}: the hint cell of {ex_id} gives away {leaks}"
    check_cell = cells[index + 1]
    assert check_cell.source.startswith("# NBVAL_CHECK_OUTPUT\n")
    assert re.search(rf'check\("{re.escape(ex_id)}", {get_exercise(ex_id).name}\)', check_cell.source)


def test_no_markdown_cell_holds_a_hint_outside_the_hint_cells():
    hint_cells = {(nb, i - 1) for nb, i, _, _ in EXERCISE_CELLS}
    for path in sorted((ROOT / "units").rglob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown" and "<summary>Hint" in cell.source:
                assert (path.name, i) in hint_cells, f"{path.name}, cell {i}: a hint away from its exercise"


# --------------------------------------------------------------------------- the leak detector itself
OLD_HINTS = [   # hints of the course before the levels: each gave the answer away, and the detector says so
    ("1.6", "`grad_out @ weight`, `grad_out.T @ x`, `grad_out.sum(axis=0)`."),
    ("1.1", "If it is `<= 0`, return `w + lr * y * x` and `b + lr * y`; otherwise return a copy of `w`."),
    ("3.2", "`v_new = momentum * v + grad`, then `w_new = w - lr * v_new`. Return new arrays."),
    ("4.9", "`np.clip(x + eps * np.sign(grad), 0, 1)` — the sign, not the gradient itself."),
    ("5.4", "`np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)`"),
    ("4.1", "`order = np.argsort(y, kind='stable')`; the sample at position i gets fold i % k."),
    ("2.2", "```python\nresult = np.clip(r, -delta, delta) / r.size\n```"),          # renamed, still the answer
]


@pytest.mark.parametrize("ex_id, text", OLD_HINTS, ids=[e for e, _ in OLD_HINTS])
def test_the_leak_detector_catches_hints_that_give_the_answer(ex_id, text):
    assert leaked_lines(text, SOLUTIONS[ex_id])


def test_the_leak_detector_leaves_ideas_formulas_and_blanks_alone():
    solution = ["    v_new = momentum * v + grad", "    return w - lr * v_new, v_new", "    return out"]
    assert leaked_lines(r"$v' = \mu v + g$, then $w' = w - \eta v'$.", solution) == []
    assert leaked_lines("```python\nv_new = ____ * v + ____\nreturn ____\n```", solution) == []
    assert leaked_lines("```python\nreturn out\n```", solution) == ["return out"]      # the release tool's rule
    assert leaked_lines("`momentum * v + grad`", solution) == ["v_new = momentum * v + grad"]
    assert rename("h = np.tanh(a @ w.T)") == rename("out = np.tanh(z @ weight.T)") != rename("h = np.tanh(____)")
    assert significant_tokens("f(1.0, x[0])") == ["f", "1.0", "x", "0.0"]


def test_hints_given_as_one_string_or_too_many_levels_are_refused():
    def make(**kw):
        return Exercise("9.1", "f", "t", reference=lambda x: x, cases=lambda rng: [{"x": 1.0}], **kw)
    assert make(hint="only one").hints == ("only one",)
    assert make(hints=("a", "b")).hint == "a"
    with pytest.raises(TypeError, match="tuple of strings"):
        make(hints="one string")
    with pytest.raises(ValueError, match="1 to 3 non-empty strings"):
        make(hints=("a", "b", "c", "d"))
    with pytest.raises(ValueError, match="1 to 3 non-empty strings"):
        make(hints=("a", " "))


def test_the_hint_tool_replaces_an_old_single_hint_and_is_idempotent():
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    from exercise_hints import update

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("### Exercise 1.3 — the derivative\n\nWrite it.\n\n"
                                              "<details><summary>Hint</summary>\n\nthe answer\n</details>"),
                nbformat.v4.new_code_cell("# Exercise 1.3: sigmoid_prime\ndef sigmoid_prime(x):\n    pass"),
                nbformat.v4.new_code_cell('# NBVAL_CHECK_OUTPUT\ncheck("1.3", sigmoid_prime)')]
    assert update(nb) == ["1.3"]
    assert nb.cells[0].source == "### Exercise 1.3 — the derivative\n\nWrite it."
    assert nb.cells[1].source == hints_markdown(get_exercise("1.3"))
    assert nb.cells[2].source.startswith("# Exercise 1.3")
    assert update(nb) == [] and len(nb.cells) == 4


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_the_reference_runs_on_the_cases_of_any_seed(ex_id):
    """The grader draws cases from a secret seed: a case the reference cannot run would make a whole notebook a
    'grader error' (found when 5.8's random networks let a kernel outgrow the width)."""
    ex = get_exercise(ex_id)
    run = getattr(ex.run, "inside", None) or ex.run
    for seed in range(200):           # the old 5.8 generator failed on 186 of 5000 seeds, first at seed 50
        for case in ex.cases(np.random.default_rng(seed)):
            run(ex.reference, case)
