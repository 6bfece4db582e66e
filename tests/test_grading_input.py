"""Mistakes on the grade command line are refused before any grading (no sandbox needed to test that)."""
import csv

import pytest

import dlcourse.grading.grade as grade_module
from dlcourse.grading.grade import collect, grade
from grading_support import write_nb

pytestmark = [pytest.mark.unit1]


@pytest.fixture
def no_grading(monkeypatch):
    """Fails the test if grading would start (the refusal must come first, not after grading a class)."""
    def refuse(*args, **kwargs):
        raise AssertionError("grading started")
    monkeypatch.setattr(grade_module, "Environment", refuse)


def test_a_path_that_does_not_exist_is_refused_not_graded(tmp_path, no_grading):
    write_nb(tmp_path / "class" / "alice" / "n.ipynb", ["x = 1"])
    with pytest.raises(ValueError, match="submissions: no such file or folder: .*alcie"):
        collect([str(tmp_path / "class" / "alcie")])
    with pytest.raises(ValueError, match="no such file or folder"):
        grade([str(tmp_path / "class"), str(tmp_path / "typo")], 1, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_another_units_folder_is_refused_before_grading(tmp_path, no_grading):
    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    out = tmp_path / "out"
    out.mkdir()
    with (out / "grades.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["submission", "status", "exercise 2.1", "total", "max", "reason"],
                                 ["bob", "graded", "1", "1", "1", ""]])
    before = (out / "grades.csv").read_bytes()
    with pytest.raises(ValueError, match="other exercises.*grade Unit 1 into another folder"):
        grade([str(tmp_path / "a.ipynb")], 1, out, progress=False)
    assert (out / "grades.csv").read_bytes() == before
