"""benchmarks/run.py: each benchmark runs on a tiny size and verifies its work; a sabotaged input makes it fail.

No timing is asserted here (the machine may be loaded): only that a row is "measured" when the work is right, and
"failed" with a reason, never a time, when it is not.
"""

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import benchlib  # noqa: E402
import run as bench  # noqa: E402


def only(rows, status):
    assert rows and all(r["status"] == status for r in rows), rows
    return rows


def measured(rows):
    for r in only(rows, "measured"):
        assert isinstance(r["value"], float) and r["target"] > 0
    return rows


def failed(rows, reason):
    for r in only(rows, "failed"):
        assert r["value"] is None and not r["ok"]
        assert reason in r["reason"], r["reason"]
    return rows


# --- rows and groups ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, reason", [
    ("not a dict", "malformed row"),
    ({"name": "x", "value": float("nan"), "unit": "s", "target": 1.0}, "value must be a finite number"),
    ({"name": "x", "value": 1.0, "unit": "s", "target": None}, "target must be a finite number"),
    ({"name": "x", "value": 1.0, "unit": "s", "target": 2.0, "status": "fine"}, "status must be one of"),
    ({"name": "x", "value": 1.0, "unit": "s", "target": 2.0, "reached": {"what": "accuracy"}},
     "'reached' must be {what, value, target, better}"),
    ({"name": "x", "value": 1.0, "unit": "s", "target": 2.0,
      "reached": {"what": "test accuracy", "value": 0.42, "target": 0.9}},
     "the timed work missed its own target: test accuracy 0.42 (target ≥ 0.9)"),
    ({"name": "x", "value": 1.0, "unit": "s", "target": 2.0,
      "reached": {"what": "loss", "value": 0.5, "target": 0.1, "better": "lower"}}, "loss 0.5 (target ≤ 0.1)"),
])
def test_a_malformed_or_unverified_row_is_a_failure_not_a_time(raw, reason):
    failed([benchlib.normalize(raw)], reason)


def test_a_row_reports_what_its_work_reached_beside_the_time():
    r = benchlib.row("train", 2.0, "s", 3.0, reached={"what": "test accuracy", "value": 0.93, "target": 0.9})
    assert r["status"] == "measured" and r["ok"] and r["reached"]["value"] == 0.93
    assert "test accuracy 0.93 (target ≥ 0.9)" in bench.format_table([{**r, "group": "g"}])
    plain = benchlib.normalize({"name": "old style", "value": 4.0, "unit": "s", "target": 3.0, "ok": True})
    assert plain["status"] == "measured" and plain["ok"] is False
    # a module's own verdict that its row is not ok (a quality it checks itself) is never turned into "ok"
    own = {"name": "own check", "value": 1.0, "unit": "s", "target": 3.0, "ok": False}
    assert benchlib.normalize(own)["ok"] is False


def test_missing_prerequisites_are_not_run_unless_asked_for():
    def needs_site():
        raise benchlib.NotRun("the site is not built")

    assert only(bench.run_group("budget browser", needs_site), "not run")[0]["reason"] == "the site is not built"
    failed(bench.run_group("budget browser", needs_site, explicit=True), "prerequisite missing: the site is not built")


@pytest.mark.parametrize("fn, reason", [
    (lambda: 1 / 0, "ZeroDivisionError: division by zero"),
    (lambda: "rows", "returned str, not a list of rows"),
    (lambda: [], "returned no row"),
])
def test_a_benchmark_that_breaks_is_a_failed_row(fn, reason):
    rows = failed(bench.run_group("g", fn), reason)
    assert rows[0]["group"] == "g"


def test_browser_prerequisites_name_what_is_missing(tmp_path):
    with pytest.raises(benchlib.NotRun, match="the site is not built .*run `make book` first"):
        bench.browser_prerequisites(site=tmp_path)
    (tmp_path / "index.html").write_text("")
    with pytest.raises(benchlib.NotRun, match="Chromium is not installed"):
        bench.browser_prerequisites(site=tmp_path, chromium=tmp_path / "no-chromium")


def test_a_failing_command_is_a_failure():
    with pytest.raises(benchlib.Failed, match="exited 3"):
        bench._timed([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(benchlib.Failed, match="reported 1 failed, 2 passed"):
        bench._timed([sys.executable, "-c", "print('== 1 failed, 2 passed in 1s ==')"])


def test_bench_modules_are_discovered_and_broken_ones_reported(tmp_path):
    (tmp_path / "bench_good.py").write_text(
        "from benchlib import row\nBENCHMARKS = {'good': lambda: [row('g', 1.0, 's', 2.0)]}\n"
        "OPT_IN = {'slow good': lambda: []}\n")
    (tmp_path / "bench_broken.py").write_text("import no_such_module_xyz\n")
    (tmp_path / "bench_empty.py").write_text("x = 1\n")
    (tmp_path / "bench_twice.py").write_text("BENCHMARKS = {'good': lambda: []}\n")
    (tmp_path / "other.py").write_text("BENCHMARKS = {'ignored': lambda: []}\n")
    found, opt_in = bench.discover(tmp_path)
    assert set(found) == {"good", "bench_broken.py", "bench_empty.py", "good (bench_twice.py)"}
    assert set(opt_in) == {"slow good"}
    measured(bench.run_group("good", found["good"]))
    failed(bench.run_group("x", found["bench_broken.py"]), "cannot load bench_broken.py: ModuleNotFoundError")
    failed(bench.run_group("x", found["bench_empty.py"]), "defines no BENCHMARKS dict")
    failed(bench.run_group("x", found["good (bench_twice.py)"]), "group name 'good' is used twice")


def test_every_bench_module_of_the_repository_loads():
    groups, opt_in = bench.all_benchmarks()
    for group, fn in (groups | opt_in).items():
        assert getattr(fn, "broken", None) is None, f"{group}: {fn.broken}"
    assert {f"grading unit {u}" for u in range(1, 6)} <= set(groups)
    assert "unit5 conv2d vs torch" in groups and "budget ci" in opt_in


def test_main_reports_failures_and_keeps_what_it_did_not_measure(tmp_path, monkeypatch, capsys):
    def fine():
        return [benchlib.row("fine row", 1.0, "s", 2.0)]

    def broken():
        raise benchlib.Failed("the grader crashed every submission")

    def missing():
        raise benchlib.NotRun("the site is not built")

    monkeypatch.setattr(bench, "all_benchmarks", lambda: ({"fine": fine, "broken": broken, "missing": missing}, {}))
    out = tmp_path / "results.json"
    out.write_text(json.dumps([{"name": "old", "value": 9.0, "unit": "s", "target": 10.0, "ok": True,
                                "group": "missing"},
                               {"name": "gone", "value": 1.0, "unit": "s", "target": 2.0, "ok": True,
                                "group": "removed group"}]))
    assert bench.main(["--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "FAILED" in text and "the grader crashed every submission" in text and "not run" in text
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"old", "fine row", "broken"}          # the last measurement of "missing" is kept
    assert rows["broken"]["value"] is None and rows["broken"]["status"] == "failed"
    assert bench.main(["--out", str(out), "--only", "fine"]) == 0
    assert bench.main(["--out", str(out), "--only", "nothing matches"]) == 2


# --- notebooks ------------------------------------------------------------------------------------------------------


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_notebook_rows_check_that_the_run_raised_no_error(tmp_path):
    good = notebook(tmp_path / "good.ipynb", "x = 1", "print(x + 1)")
    bad = notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('sabotaged')", "print('never')")
    before = good.read_bytes()
    rows = {r["name"]: r for r in bench.bench_notebooks([good, bad])}
    measured([rows["notebook good.ipynb"]])
    failed([rows["notebook bad.ipynb"]], "a cell raised ValueError: sabotaged")
    assert good.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb", "good.ipynb"]


# --- widgets --------------------------------------------------------------------------------------------------------


class FrozenDemo:
    """A widget whose controls move but whose picture never changes."""

    def __init__(self):
        import ipywidgets as W

        self.controls = {"a": W.IntSlider(value=0, min=0, max=10)}
        self.image = W.Image(value=b"the same picture", format="png")


def test_widget_rows_check_that_the_picture_changed():
    cases = bench.widget_cases()
    name = next(iter(cases))
    factory, moves = cases[name]
    cheap = {name: (factory, moves[:3]), "frozen": (FrozenDemo, [("a", 1), ("a", 2)]),
             "no move": (FrozenDemo, [("a", 0)]), "crashes": (lambda: 1 / 0, [("a", 1)])}
    rows = {r["name"]: r for r in bench.bench_widgets(cheap, repeats=1)}
    measured([rows[f"widget update: {name}"]])
    # (the warm-up moved 'a' to 1)
    failed([rows["widget update: frozen"]], "setting 'a' to 2 changed neither the picture nor its caption")
    failed([rows["widget update: no move"]], "none of the moves changed a control")
    failed([rows["widget update: crashes"]], "ZeroDivisionError")


# --- scalar engine and race -------------------------------------------------------------------------------------


def test_scalar_engine_rows_check_that_the_steps_lowered_the_loss():
    measured(bench.bench_scalar_engine(n_points=12, repeats=(2, 2)))
    failed(bench.run_group("scalar engine", lambda: bench.bench_scalar_engine(n_points=12, repeats=(2, 2), lr=0.0)),
           "the timed steps did not lower the loss")
    with pytest.raises(benchlib.Failed, match="non-finite loss"):
        bench.verify_descent([1.0, float("nan")], "x")


def test_race_rows_check_that_every_racer_went_downhill():
    measured(bench.bench_race(steps=30, repeats=1))
    from dlcourse.optim import SGD

    failed(bench.run_group("race", lambda: bench.bench_race(steps=30, repeats=1,
                                                            racers={"SGD": lambda p: SGD(p, lr=50.0)})),
           "racer SGD diverged")
    failed(bench.run_group("race", lambda: bench.bench_race(steps=30, repeats=1,
                                                            racers={"SGD": lambda p: SGD(p, lr=0.0)})),
           "racer SGD did not go downhill")


# --- grading --------------------------------------------------------------------------------------------------------


def fake_grader(make):
    """A grade() stand-in returning ``make(name, exercise ids)`` for every submission folder."""
    from dlcourse.grading.grade import collect, unit_exercises

    def grade(paths, unit, out, **kwargs):
        return [make(name, list(unit_exercises(unit))) for name, _ in collect(paths)]
    return grade


def test_a_grader_that_crashes_every_submission_fails_the_row():
    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade

    crash = fake_grader(lambda name, ids: SubmissionGrade(name, "crashed", "the notebook's process ended without a "
                                                          "result", {i: ExerciseGrade() for i in ids}))
    rows = failed(bench.bench_grading(1, n=3, grade_fn=crash, sandbox=False), "3 of 3 submissions graded wrongly")
    assert "student00 (complete): status 'crashed': the notebook's process ended" in rows[0]["reason"]


def test_a_grader_that_gives_everyone_full_marks_fails_the_row():
    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade

    generous = fake_grader(lambda name, ids: SubmissionGrade(name, "graded", "", {i: ExerciseGrade(1.0) for i in ids}))
    rows = failed(bench.bench_grading(2, n=3, grade_fn=generous, sandbox=False), "2 of 3 submissions graded wrongly")
    assert "student01 (untouched): status 'graded', expected 'not attempted'" in rows[0]["reason"]
    assert ("student02 (partly wrong): status 'graded', expected 'graded'; 2.1 scored 1.0, expected 0"
            in rows[0]["reason"])


def test_a_grader_that_loses_a_submission_fails_the_row():
    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade

    def honest_but_one(name, ids):
        return SubmissionGrade(name, "graded", "", {i: ExerciseGrade(1.0) for i in ids})

    grade_all = fake_grader(honest_but_one)
    rows = failed(bench.bench_grading(1, n=1, grade_fn=lambda *a, **k: grade_all(*a, **k)[:0], sandbox=False),
                  "student00 (complete): no grade")
    assert rows[0]["name"] == "grading 1 Unit 1 submissions (sandboxed, 2 in parallel)"


@pytest.mark.parametrize("unit", bench.course_units())
def test_every_units_partly_wrong_copies_have_a_known_partial_score(tmp_path, unit):
    from dlcourse.grading.grade import unit_exercises

    ids = list(unit_exercises(unit))
    expected = bench.make_submissions(unit, 3 * len(ids), tmp_path)
    wrong = [next(e for e, s in scores.items() if s == 0) for kind, _, scores in expected.values()
             if kind == "partly wrong"]
    assert set(wrong) <= set(ids) and len(set(wrong)) >= len(ids) - 2   # nearly every exercise is the wrong one
    if unit == 1:
        assert "1.2" not in wrong      # 1.3's solution calls sigmoid: breaking 1.2 would break 1.3 too
    assert all(sum(s.values()) == len(ids) - 1 for k, _, s in expected.values() if k == "partly wrong")


@pytest.mark.slow
@pytest.mark.parametrize("unit", bench.course_units())
def test_grading_rows_verify_real_grades(unit):
    """Three real submissions (complete, untouched, partly wrong) through the sandboxed grader."""
    rows = bench.run_group(f"grading unit {unit}", lambda: bench.bench_grading(unit, n=3))
    assert rows[0]["status"] in ("measured", "not run"), rows[0].get("reason")


# --- course budget --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_nbval_budget_row_fails_when_a_notebook_raises(tmp_path):
    notebook(tmp_path / "ok" / "good.ipynb", "x = 1")
    measured(bench.bench_budget_nbval((tmp_path / "ok",)))
    notebook(tmp_path / "bad" / "bad.ipynb", "raise ValueError('sabotaged')")
    failed(bench.run_group("budget nbval", lambda: bench.bench_budget_nbval((tmp_path / "bad",))), "exited 1")


# --- unit 5 layers against torch ----------------------------------------------------------------------------------


def test_unit5_rows_check_the_layers_against_torch_first():
    import numpy as np
    import torch

    import bench_unit5
    from dlcourse.layers import Conv2d

    rows = measured([benchlib.normalize(r) for r in bench_unit5.bench_conv2d()])
    assert len(rows) == 2
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 8))
    wrong = Conv2d(3, 16, 3, padding=1, rng=0)
    forward = wrong.forward
    wrong.forward = lambda inp: forward(inp) * 1.01          # sabotaged: 1 % off
    with pytest.raises(benchlib.Failed, match="Conv2d: dlcourse's output differs from torch's \\(float64, max diff"):
        bench_unit5._check_against_torch("Conv2d", wrong, torch.nn.Conv2d(3, 16, 3, padding=1).double(), x,
                                         np.ones((2, 16, 8, 8)), torch.float64)
