"""The gradebook: merging the units' grades.csv, points from notebooks, the roster and the LMS exports.

Every promise of course/instructors.md's Gradebook section is tried here, including its sample, which is
regenerated from the documented inputs and compared cell by cell.
"""

import csv
import re
import unicodedata
from pathlib import Path

import nbformat
import pytest

from dlcourse.cli import main
from dlcourse.grading.gradebook import gradebook, read_grades, read_points

ROOT = Path(__file__).resolve().parents[1]
HEADER = "submission,status,exercise {u}.1,exercise {u}.2,total,max,reason"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def unit_csv(folder: Path, unit: int, rows: list[str], header: str | None = None) -> Path:
    write(folder / "grades.csv", "\n".join([header or HEADER.format(u=unit), *rows]) + "\n")
    return folder


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def two_units(tmp_path):
    u1 = unit_csv(tmp_path / "u1", 1, ["alice,graded,1,0.5,1.5,2,", "李雷,graded,1,1,2,2,",
                                       "bob,not attempted,0,0,0,2,"])
    u2 = unit_csv(tmp_path / "u2", 2, ["alice,graded,1,0.25,1.25,2,", "王芳,crashed,0,0,0,2,the process ended"])
    return u1, u2


def test_one_row_per_student_with_unit_totals_and_percentage(tmp_path, two_units):
    report = gradebook(list(two_units), tmp_path / "out", points_from=tmp_path / "u1")
    rows = {r["submission"]: r for r in read(report.gradebook)}
    assert list(rows) == ["alice", "bob", "李雷", "王芳"]
    assert rows["alice"] == {"submission": "alice", "unit 1": "1.5", "unit 1 status": "graded", "unit 2": "1.25",
                             "unit 2 status": "graded", "points": "2.75", "max": "4", "percent": "68.75"}
    assert report.max_points == {1: 4 / 2, 2: 2.0} and report.students == 4


def test_missing_students_score_zero_with_their_own_status(tmp_path, two_units):
    report = gradebook(list(two_units), tmp_path / "out", points_from=tmp_path / "u1")
    rows = {r["submission"]: r for r in read(report.gradebook)}
    assert (rows["李雷"]["unit 2"], rows["李雷"]["unit 2 status"]) == ("", "no submission")
    assert (rows["李雷"]["points"], rows["李雷"]["percent"]) == ("2", "50")
    assert (rows["王芳"]["unit 1 status"], rows["王芳"]["unit 2 status"]) == ("no submission", "crashed")
    assert report.missing == {1: ["王芳"], 2: ["bob", "李雷"]}
    assert "Unit 2: 2 student(s) have no row" in (tmp_path / "out" / "report.txt").read_text(encoding="utf-8")


def test_unicode_names_match_across_units_whatever_their_normal_form(tmp_path):
    nfc, nfd = "José Müller", unicodedata.normalize("NFD", "José Müller")
    assert nfc != nfd
    u1 = unit_csv(tmp_path / "u1", 1, [f"{nfc},graded,1,1,2,2,", "Ölçer,graded,0,1,1,2,"])
    u2 = unit_csv(tmp_path / "u2", 2, [f" {nfd} ,graded,1,0,1,2,", "Ölçer,graded,1,1,2,2,"])
    report = gradebook([u1, u2], tmp_path / "out", points_from=u1)
    rows = read(report.gradebook)
    assert [r["submission"] for r in rows] == [nfc, "Ölçer"]
    assert rows[0]["points"] == "3" and rows[1]["points"] == "3" and report.missing == {1: [], 2: []}


def test_columns_are_read_by_name_and_extra_columns_are_ignored(tmp_path):
    folder = unit_csv(tmp_path / "u3", 3, ["alice,0.5,x,graded,1,1.5,,2"],
                      header="Submission,exercise 3.2,notes,status,exercise 3.1,total,reason,max")
    g = read_grades(folder)
    assert (g.unit, g.exercises) == (3, ["3.2", "3.1"])
    assert g.rows["alice"].scores == {"3.2": 0.5, "3.1": 1.0} and g.rows["alice"].status == "graded"
    assert read_grades(folder / "grades.csv").rows.keys() == {"alice"}


def test_reads_what_the_grader_writes(tmp_path):
    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade, unit_exercises, write_outputs

    ids = list(unit_exercises(1))
    grades = [SubmissionGrade("Zoë", exercises={i: ExerciseGrade(score=1 / 3) for i in ids}),
              SubmissionGrade("李雷", "not attempted", exercises={i: ExerciseGrade() for i in ids})]
    write_outputs(tmp_path / "u1", 1, grades)
    report = gradebook([tmp_path / "u1"], tmp_path / "out", points_from=tmp_path / "u1")
    rows = {r["submission"]: r for r in read(report.gradebook)}
    assert float(rows["Zoë"]["unit 1"]) == pytest.approx(len(ids) / 3, abs=1e-3)
    assert rows["李雷"]["unit 1 status"] == "not attempted" and rows["李雷"]["max"] == str(len(ids))


def notebook_with_points(path: Path, cells: list[tuple[str, dict]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for source, meta in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.update(meta)
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_points_from_notebook_metadata_weight_the_exercises(tmp_path, two_units):
    nbs = tmp_path / "notebooks"
    notebook_with_points(nbs / "a.ipynb", [("# Exercise 1.2: f\ndef f(x):\n    return x", {"dlcourse": {"points": 2}}),
                                           ('check("1.2", f)', {})])
    # without the header line: the cell before check("2.1", ...) is the exercise cell
    notebook_with_points(nbs / "sub" / "b.ipynb", [("def g(x):\n    return x", {"dlcourse": {"points": 0.5}}),
                                                   ('# NBVAL_CHECK_OUTPUT\ncheck("2.1", g)', {})])
    assert read_points(nbs) == {"1.2": 2.0, "2.1": 0.5}
    report = gradebook(list(two_units), tmp_path / "out", points_from=nbs)
    alice = read(report.gradebook)[0]
    # Unit 1: 1 * 1 + 0.5 * 2 = 2 of 3; Unit 2: 1 * 0.5 + 0.25 * 1 = 0.75 of 1.5
    assert (alice["unit 1"], alice["unit 2"], alice["max"], alice["percent"]) == ("2", "0.75", "4.5", "61.11")
    assert report.points == {"1.2": 2.0, "2.1": 0.5}


def test_the_course_notebooks_give_every_exercise_a_valid_number_of_points():
    points = read_points(ROOT / "units")
    assert all(p > 0 for p in points.values())


@pytest.mark.parametrize("meta, cells, message", [
    ({"dlcourse": {"points": 0}}, 1, "points must be a positive number, got 0"),
    ({"dlcourse": {"points": True}}, 1, "points must be a positive number, got True"),
    ({"dlcourse": {"points": "2"}}, 1, "points must be a positive number, got '2'"),
    ({"dlcourse": {"points": 2}}, 0, "is not an exercise cell"),
])
def test_bad_points_name_the_notebook_and_cell(tmp_path, meta, cells, message):
    source = "# Exercise 1.1: f\ndef f(): pass" if cells else "x = 1"
    notebook_with_points(tmp_path / "nb.ipynb", [(source, meta), ("print(x)", {})])
    with pytest.raises(ValueError, match=r"points_from: nb\.ipynb, code cell 1") as err:
        read_points(tmp_path)
    assert message in str(err.value)


def test_conflicting_points_for_one_exercise_are_refused(tmp_path):
    for name, p in (("a", 2), ("b", 3)):
        notebook_with_points(tmp_path / f"{name}.ipynb", [("# Exercise 1.1: f\n", {"dlcourse": {"points": p}})])
    with pytest.raises(ValueError, match="points_from: exercise 1.1 has 2 points in a.ipynb, code cell 1 but 3"):
        read_points(tmp_path)


ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Email address,submission,notes
Alice Adams,101,s101,alice,Section 1,alice@example.org,alice,
Li Lei,102,s102,lilei,Section 1,lilei@example.org,李雷,
Wang Fang,103,s103,wangf,Section 2,wangf@example.org,王方,typo in the submission name
Carol Chen,104,s104,carol,Section 2,carol@example.org,,dropped
"""


def test_canvas_and_moodle_exports_follow_the_roster(tmp_path, two_units):
    roster = write(tmp_path / "roster.csv", ROSTER)
    report = gradebook(list(two_units), tmp_path / "out", roster=roster, lms=["canvas", "moodle"],
                       columns={1: "Unit 1 (87568490)"}, points_from=tmp_path / "u1")
    canvas = (tmp_path / "out" / "canvas.csv").read_text(encoding="utf-8").splitlines()
    assert canvas == ["Student,ID,SIS User ID,SIS Login ID,Section,Unit 1 (87568490),Unit 2",
                      "Alice Adams,101,s101,alice,Section 1,1.5,1.25",
                      "Li Lei,102,s102,lilei,Section 1,2,",
                      "Wang Fang,103,s103,wangf,Section 2,,",
                      "Carol Chen,104,s104,carol,Section 2,,"]
    moodle = (tmp_path / "out" / "moodle.csv").read_text(encoding="utf-8").splitlines()
    assert moodle[:2] == ["Email address,Unit 1 (87568490),Unit 2", "alice@example.org,1.5,1.25"]
    assert report.exports == {"canvas": tmp_path / "out" / "canvas.csv", "moodle": tmp_path / "out" / "moodle.csv"}


def test_roster_mismatches_are_reported_clearly(tmp_path, two_units, capsys):
    roster = write(tmp_path / "roster.csv", ROSTER)
    report = gradebook(list(two_units), tmp_path / "out", roster=roster, lms=["canvas"], points_from=tmp_path / "u1")
    assert not report.ok
    assert report.unmatched_submissions == [("bob", []), ("王芳", ["王方"])]
    assert report.roster_without_grades == ["王方", "(line 5, no submission name)"]
    text = (tmp_path / "out" / "report.txt").read_text(encoding="utf-8")
    assert "ROSTER MISMATCH: 2 graded submission(s) have no roster row, so their grades are NOT in the LMS" in text
    assert "'王芳' (a typo? the roster has '王方' without a submission)" in text
    # the command line: the export is written, the mismatch goes to stderr and the exit status is 1
    code = main(["gradebook", "--out", str(tmp_path / "cli"), *map(str, two_units), "--roster", str(roster),
                 "--lms", "canvas", "--points-from", str(tmp_path / "u1")])
    err = capsys.readouterr().err
    assert code == 1 and "ROSTER MISMATCH" in err and "'bob'" in err
    assert (tmp_path / "cli" / "canvas.csv").exists()


def test_command_line_without_roster_succeeds(tmp_path, two_units, capsys):
    code = main(["gradebook", "--out", str(tmp_path / "out"), *map(str, two_units),
                 "--points-from", str(tmp_path / "u1")])
    assert code == 0 and "gradebook in" in capsys.readouterr().out


@pytest.mark.parametrize("setup, kwargs, message", [
    (None, {"grade_dirs": ["missing"]}, "grade_dirs: expected a folder holding grades.csv or a grades.csv file, "
                                        "got .*missing \\(no such file or folder\\)"),
    ("empty_dir", {}, "grade_dirs: expected a folder holding grades.csv .* \\(it has no grades.csv\\)"),
    (None, {"grade_dirs": []}, "grade_dirs: expected a non-empty list"),
    (None, {"grade_dirs": "u1"}, "grade_dirs: expected a non-empty list"),
    ("no_total", {}, "grade_dirs: .*grades.csv must have a 'total' column"),
    ("no_exercises", {}, "grade_dirs: .*must have 'exercise N.k' columns"),
    ("two_units", {}, "grade_dirs: .*must hold the exercises of one unit, got exercises of units \\[1, 2\\]"),
    ("score_range", {}, "grade_dirs: .*line 2 \\(alice\\), column 'exercise 1.2': expected a number from 0 to 1, "
                        "got '1.5'"),
    ("score_text", {}, "column 'exercise 1.2': expected a number from 0 to 1, got 'abc'"),
    ("total_edit", {}, "grade_dirs: .*line 2 \\(alice\\): 'total' is 2 but the exercise scores add up to 1.5"),
    ("duplicate", {}, "grade_dirs: .*two rows for submission 'alice' \\(lines 2 and 3\\)"),
    ("overlap", {}, "grade_dirs: .* both grade Unit 1 for 'alice'"),
    ("no_submission_column", {"roster": "roster.csv"}, "roster: .*must have a 'submission' column"),
    ("duplicate_roster", {"roster": "roster.csv"}, "roster: .*two rows for submission 'alice' \\(lines 2 and 3\\)"),
    ("duplicate_id", {"roster": "roster.csv"}, "roster: .*gives ID '7' to two rows \\(lines 2 and 3\\)"),
    (None, {"roster": "nothere.csv"}, "roster: expected a CSV file with a 'submission' column, got .*nothere.csv"),
    (None, {"lms": ["canvas"]}, "lms: the canvas export needs a roster"),
    (None, {"lms": ["blackboard"]}, "lms: expected one of canvas, moodle, got 'blackboard'"),
    ("roster_without_ids", {"roster": "roster.csv", "lms": ["canvas"]},
     "roster: the Canvas export needs a column 'ID', 'SIS User ID' or 'SIS Login ID'"),
    ("roster_without_ids", {"roster": "roster.csv", "lms": ["moodle"]},
     "roster: the Moodle export needs a column 'Email address', 'ID number', 'Username'"),
    (None, {"columns": {4: "Unit 4"}}, "columns: unit 4 is not among the graded units \\[1\\]"),
    (None, {"columns": {1: " "}}, "columns: the header of unit 1 must be a non-empty string"),
    (None, {"points_from": "nowhere"}, "points_from: expected a notebook or a folder of notebooks, got nowhere"),
    ("out_is_file", {"out": "afile"}, "out: expected a folder \\(created if missing\\), got .*afile \\(a file\\)"),
])
def test_bad_input_names_the_argument(tmp_path, monkeypatch, setup, kwargs, message):
    monkeypatch.chdir(tmp_path)
    unit_csv(tmp_path / "u1", 1, ["alice,graded,1,0.5,1.5,2,"])
    args = {"grade_dirs": ["u1"], "out": "out", "points_from": "u1"}
    if setup == "empty_dir":
        (tmp_path / "u1" / "grades.csv").unlink()
    elif setup == "no_total":
        unit_csv(tmp_path / "u1", 1, ["alice,graded,1,1"], header="submission,status,exercise 1.1,exercise 1.2")
    elif setup == "no_exercises":
        unit_csv(tmp_path / "u1", 1, ["alice,graded,1"], header="submission,status,total")
    elif setup == "two_units":
        unit_csv(tmp_path / "u1", 1, ["alice,graded,1,1,2"], header="submission,status,exercise 1.1,exercise 2.1,total")
    elif setup in ("score_range", "score_text", "total_edit", "duplicate"):
        row = {"score_range": "alice,graded,1,1.5,2.5,2,", "score_text": "alice,graded,1,abc,1,2,",
               "total_edit": "alice,graded,1,0.5,2,2,", "duplicate": "alice,graded,1,0.5,1.5,2,"}[setup]
        unit_csv(tmp_path / "u1", 1, [row] + (["alice,graded,0,0,0,2,"] if setup == "duplicate" else []))
    elif setup == "overlap":
        unit_csv(tmp_path / "again", 1, ["alice,graded,0,0,0,2,"])
        args["grade_dirs"] = ["u1", "again"]
    elif setup == "no_submission_column":
        write(tmp_path / "roster.csv", "name,ID\nalice,7\n")
    elif setup == "duplicate_roster":
        write(tmp_path / "roster.csv", "submission,ID\nalice,7\nalice,8\n")
    elif setup == "duplicate_id":
        write(tmp_path / "roster.csv", "submission,ID\nalice,7\nbob,7\n")
    elif setup == "roster_without_ids":
        write(tmp_path / "roster.csv", "submission,Student\nalice,Alice\n")
    elif setup == "out_is_file":
        write(tmp_path / "afile", "")
    with pytest.raises(ValueError, match=message):
        gradebook(**(args | kwargs))


def test_the_command_line_reports_bad_input_without_a_traceback(tmp_path, capsys):
    assert main(["gradebook", "--out", str(tmp_path / "out"), str(tmp_path / "missing")]) == 2
    assert "gradebook failed: grade_dirs: expected a folder" in capsys.readouterr().err
    assert main(["gradebook", "--out", str(tmp_path), str(tmp_path), "--column", "one=Unit 1"]) == 2
    assert "--column: expected UNIT=HEADER" in capsys.readouterr().err


def test_same_unit_in_two_folders_merges_disjoint_students(tmp_path):
    a = unit_csv(tmp_path / "sec1", 1, ["alice,graded,1,1,2,2,"])
    b = unit_csv(tmp_path / "sec2", 1, ["bob,graded,1,0,1,2,"])
    report = gradebook([a, b], tmp_path / "out", points_from=a)
    assert [r["unit 1"] for r in read(report.gradebook)] == ["2", "1"] and report.units == [1]


def doc_samples() -> dict:
    """The Gradebook section's sample files: ```text blocks, each preceded by a line naming the file in backticks."""
    text = (ROOT / "course" / "instructors.md").read_text(encoding="utf-8")
    section = text.split("\n## Gradebook", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in re.finditer(r"`([\w./-]+\.csv)`[^\n]*:\n+```(?:csv|text)\n(.*?)```", section, re.S)}


def test_the_guides_sample_is_what_the_gradebook_writes(tmp_path):
    samples = doc_samples()
    assert {"grades/unit1/grades.csv", "grades/unit2/grades.csv", "roster.csv", "gradebook/gradebook.csv",
            "gradebook/canvas.csv", "gradebook/moodle.csv"} <= set(samples)
    for name in ("grades/unit1/grades.csv", "grades/unit2/grades.csv", "roster.csv"):
        write(tmp_path / name, samples[name])
    code = main(["gradebook", "--out", str(tmp_path / "gradebook"), str(tmp_path / "grades/unit1"),
                 str(tmp_path / "grades/unit2"), "--roster", str(tmp_path / "roster.csv"), "--lms", "canvas",
                 "--lms", "moodle", "--column", "1=Unit 1 notebooks (87568490)",
                 "--points-from", str(tmp_path / "grades")])
    assert code == 0
    for name in ("gradebook/gradebook.csv", "gradebook/canvas.csv", "gradebook/moodle.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8").splitlines() == samples[name].splitlines(), name


def test_large_point_totals_keep_their_decimals(tmp_path):
    u1 = unit_csv(tmp_path / "u1", 1, ["alice,graded,1,0.3333,1.3333,2,"])
    nbs = tmp_path / "nbs"
    notebook_with_points(nbs / "a.ipynb", [("# Exercise 1.1: f\n", {"dlcourse": {"points": 1000}}),
                                           ("# Exercise 1.2: g\n", {"dlcourse": {"points": 3}})])
    row = read(gradebook([u1], tmp_path / "out", points_from=nbs).gradebook)[0]
    assert (row["unit 1"], row["max"], row["percent"]) == ("1000.9999", "1003", "99.8")


def test_a_canvas_export_with_a_submission_column_is_a_roster(tmp_path):
    u1 = unit_csv(tmp_path / "u1", 1, ["alice,graded,1,1,2,2,"])
    roster = write(tmp_path / "roster.csv",
                   "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (87568490),submission\n"
                   "    Points Possible,,,,,10,\n"
                   "\"Adams, Alice\",5001,S1001,aadams,DL 2026,7,alice\n")
    report = gradebook([u1], tmp_path / "out", roster=roster, lms=["canvas"], points_from=u1)
    assert report.ok and report.roster_without_grades == []
    assert (tmp_path / "out" / "canvas.csv").read_text(encoding="utf-8").splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Unit 1", '"Adams, Alice",5001,S1001,aadams,DL 2026,2']


def test_submissions_not_graded_normally_are_listed_and_empty_scores_count_zero(tmp_path):
    u1 = unit_csv(tmp_path / "u1", 1, ["alice,graded,1,1,2,2,", "bob,crashed,,,,2,grader error",
                                       "carol,timeout,0,0,0,2,ran longer than 180 s"])
    report = gradebook([u1], tmp_path / "out", points_from=u1)
    assert report.attention == {1: {"crashed": ["bob"], "timeout": ["carol"]}}
    assert [r["points"] for r in read(report.gradebook)] == ["2", "0", "0"]
    text = (tmp_path / "out" / "report.txt").read_text(encoding="utf-8")
    assert "Unit 1: 2 submission(s) were not graded normally" in text and "crashed: bob; timeout: carol" in text


def test_a_roster_unfit_for_the_export_stops_before_anything_is_written(tmp_path):
    u1 = unit_csv(tmp_path / "u1", 1, ["alice,graded,1,1,2,2,"])
    roster = write(tmp_path / "roster.csv", "submission,Student\nalice,Alice\n")
    with pytest.raises(ValueError, match="roster: the Canvas export needs"):
        gradebook([u1], tmp_path / "out", roster=roster, lms=["canvas"], points_from=u1)
    assert not (tmp_path / "out").exists()
