"""What every exercise of every unit must do, whatever its unit: the reference passes its own
check on fresh and seeded inputs, and a function that raises something other than
NotImplementedError is reported as an error, with the exercise's hint.

Unit-specific behaviour (stubs, plausible wrong answers, the notebooks' solutions) is tested in
tests/test_checks_unitN.py.
"""

import pytest

import dlcourse.checks as checks
from dlcourse.checks import ERROR, EXERCISES, PASSED, check, get_exercise
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
