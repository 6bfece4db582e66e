"""What every exercise of every unit must do, whatever its unit: the reference passes its own
check on fresh and seeded inputs, and a function that raises something other than
NotImplementedError is reported as an error, with the exercise's hint.

Unit-specific behaviour (stubs, plausible wrong answers, the notebooks' solutions) is tested in
tests/test_checks_unitN.py.
"""

import numpy as np
import pytest

import dlcourse.checks as checks
from dlcourse.checks import ERROR, EXERCISES, PASSED, WRONG, check, get_exercise
from dlcourse.checks.registry import _load_all

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
        result = check(ex_id, ex.reference, seed=seed)
        assert result.status == PASSED and result.passed, result.message
        assert result.cases_passed == result.cases_total > 0
        assert str(result).startswith("✅ Exercise " + ex_id)


@pytest.mark.parametrize("ex_id", ALL_IDS)
def test_another_exception_is_an_error_with_the_hint(ex_id):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    result = check(ex_id, broken, seed=0)
    assert result.status == ERROR
    assert "raised KeyError: 'boom' on test case 1" in result.message
    assert result.message.endswith("Hint: " + get_exercise(ex_id).hint)


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

    result = check(ex_id, last_output_off, seed=0)
    assert result.status == WRONG and f"{last} " in result.message, result.message
    assert "output 1" not in result.message


@pytest.mark.parametrize("ex_id", NAMED)
def test_a_tuple_of_the_wrong_length_is_wrong_and_says_what_to_return(ex_id):
    ex = get_exercise(ex_id)

    def too_short(**kwargs):
        return tuple(ex.reference(**kwargs))[:-1]

    result = check(ex_id, too_short, seed=0)
    assert result.status == WRONG, result.message
    assert f"must return a tuple ({', '.join(ex.outputs)}), got a tuple of {len(ex.outputs) - 1} values" \
        in result.message
    assert "return value is not what the exercise asks for" in result.message


@pytest.mark.parametrize("returned, match", [(None, "got None (is the `return` line missing?)"), ("w", "got something else"),
                                             ([[1.0], [1.0, 2.0]], "got something else")])
def test_a_return_value_that_is_not_numbers_is_wrong_not_an_error(returned, match):
    result = check("1.2", lambda x: returned, seed=0)
    assert result.status == WRONG and match in result.message, result.message


def test_folds_returned_as_a_list_of_index_arrays_get_a_clear_message():
    def list_of_folds(y, k):
        return [np.arange(i, len(y), k) for i in range(k)]   # folds of different lengths, a ragged list

    result = check("4.1", list_of_folds, seed=0)
    assert result.status == WRONG
    assert "one fold id per sample" in result.message and "not a list of folds" in result.message
    assert "inhomogeneous" not in result.message
