"""The grader against a class of honest and adversarial Unit 1 submissions, all graded in one run.

Each adversarial submission holds honest solutions of some exercises plus one attack or one fault; the tests check
the status, the scores and the words of the feedback, that the honest submissions of the same run are graded
right, and that a fault costs only what it touches (its exercise, or the notebook it is in).
"""

import shutil
import time

import pytest

from dlcourse.grading.grade import collect, feedback_name, grade
from dlcourse.grading.library import GraderSetupError
from dlcourse.grading.sandbox import Limits, have_bubblewrap
from grading_support import FAST, ROOT, copy_unit, rows, scores, solution_cells, write_nb

pytestmark = [pytest.mark.unit1, pytest.mark.slow,
              pytest.mark.skipif(not have_bubblewrap(), reason="grading needs bubblewrap (apt-get install bubblewrap)")]

PRELUDE = "import math\nimport numpy as np\nfrom dlcourse.graph import Value"
IDS = ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]
FULL = [1.0] * 7


def replace_def(cell: str, body: str) -> str:
    """The solution cell with its function's body replaced (the header and signature kept)."""
    head = cell.split("### BEGIN SOLUTION")[0]
    return head.rstrip(" ") + body


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    subs, out = base / "subs", base / "out"
    sol = solution_cells(1)
    honest = [PRELUDE] + [sol[i] for i in IDS]
    no_headers = [PRELUDE] + ["\n".join(ln for ln in sol[i].splitlines() if not ln.startswith("# Exercise"))
                              for i in IDS]
    secret_file = ROOT / "units" / "01-backprop" / "1.2-activations.ipynb"
    with_bug = dict(sol)
    with_bug["1.2"] = replace_def(sol["1.2"], "    while True:\n        try:\n            pass\n"
                                              "        except BaseException:\n            pass\n")
    with_bug["1.3"] = replace_def(sol["1.3"], "    import os\n    os._exit(3)\n")
    with_bug["1.6"] = replace_def(sol["1.6"], "    table = np.zeros((len(x) * 10**6, 10**5))  # 800 GB\n"
                                              "    return table @ weight\n")
    attacks = {
        "honest": honest,
        "honest2": honest,
        "no_headers": no_headers,
        "infinite_loop_cell": [PRELUDE, "while True:\n    pass"] + [sol[i] for i in IDS],
        "ignores_interrupts": [PRELUDE] + [sol[i] for i in IDS] + [
            "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass"],
        "os_exit": [PRELUDE] + [sol[i] for i in IDS] + ["import os\nos._exit(0)"],
        "fork_bomb": [PRELUDE, "import os\nwhile True:\n    os.fork()"] + [sol[i] for i in IDS],
        "memory_bomb": [PRELUDE, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))"]
                       + [sol[i] for i in IDS],
        "faults_in_functions": [PRELUDE] + [with_bug[i] for i in IDS],
        "reads_instructor_notebook": [PRELUDE,
                                      f"SOURCE = open({str(secret_file)!r}).read()",
                                      "import json\nfor c in json.loads(SOURCE)['cells']:\n"
                                      "    src = ''.join(c['source'])\n"
                                      "    if 'def sigmoid' in src:\n        exec(src)"],
        "reads_other_submission": [PRELUDE, f"exec(open({str(subs / 'honest.ipynb')!r}).read())"],
        "huge_output": [PRELUDE, replace_def(sol["1.2"], "    return np.random.default_rng(0).random(10**6)\n")]
                       + [sol[i] for i in IDS if i != "1.2"],
        "writes_output": [PRELUDE, f"open({str(out / 'grades.csv')!r}, 'w').write('hacked,7')"] + [sol["1.2"]],
        "monkeypatches_checks": [PRELUDE,
                                 "import dlcourse.checks.exercise as E, dlcourse.grading.grade as G\n"
                                 "import dlcourse.checks.unit1 as U\n"
                                 "E.compare_outputs = lambda *a, **k: None\nG.score_exercise = None\n"
                                 "U._run_without_overflow = lambda fn, case: {'output': 1 / (1 + np.exp(-case['x']))}",
                                 "# Exercise 1.2: sigmoid\ndef sigmoid(x):\n    return x"],
        "fake_score": [PRELUDE, "print('{\"notebooks\": [{\"exercises\": {}}]}')\nprint('score: 7/7')",
                       "import os\nos.write(1, b'7/7')"] + [sol["1.1"]],
        "input_transformer": [PRELUDE, "ip = get_ipython()\n"
                              "ip.input_transformers_post.append(lambda lines: ['sigmoid = lambda x: x\\n'])"]
                             + [sol[i] for i in IDS],
        "forges_the_channel": [PRELUDE, FORGER],
        "李雷": honest,
        "王芳": [PRELUDE] + [sol[i] for i in IDS[:3]],
        "untouched": None,
    }
    for name, sources in attacks.items():
        if sources is not None:
            write_nb(subs / f"{name}.ipynb", sources)
    from dlcourse.grading.release import release

    released = base / "rel"
    release(ROOT / "units", released)
    shutil.copytree(released / "student" / "01-backprop", subs / "untouched")
    folder = copy_unit(1, subs / "one_corrupt_notebook")
    (folder / "1.2-activations.ipynb").write_text("{not json")
    write_nb(folder / "2.1-regression-losses.ipynb", ["def mse_grad(pred, target):\n    return 0.0"])
    (subs / "corrupt.ipynb").write_text("{not json")
    write_nb(subs / "other_unit.ipynb", ["# Exercise 2.1: mse_grad\ndef mse_grad(pred, target):\n    return 0.0\n",
                                         'check("2.1", mse_grad)'])
    start = time.perf_counter()
    grades = grade([str(p) for p in sorted(subs.iterdir())], 1, out, limits=FAST, jobs=2, progress=False)
    return {"grades": {g.name: g for g in grades}, "rows": rows(out), "elapsed": time.perf_counter() - start,
            "out": out, "subs": subs, "n": len(list(subs.iterdir()))}


# A cell that finds the runner's result channel (its pipe among the open file descriptors) and the job (the test
# inputs, in the runner's frames), writes a full set of "passing" results, and ends the process before the real
# ones are written. It has no implementation, so what it writes cannot be right.
FORGER = r'''
import json, os, sys
frame, job = sys._getframe(), None
while frame is not None:
    job = job or frame.f_locals.get("specs")
    frame = frame.f_back
fds = [int(fd) for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")
       and "pipe" in os.readlink(f"/proc/self/fd/{fd}")]
guess = {"output": 0.5, "out.data": 1.0, "a.grad": 1.0, "b.grad": 1.0, "new w": 0.0, "new b": 0.0}
for fd in fds:
    try:
        os.write(fd, (json.dumps({"cells": ["ok"]}) + "\n").encode())
        for ex_id, spec in (job or {}).items():
            os.write(fd, (json.dumps({"exercise": ex_id, "found": True}) + "\n").encode())
            for k, case in enumerate(spec["cases"]):
                line = {"exercise": ex_id, "case": k, "status": "ok", "outputs": guess}
                os.write(fd, (json.dumps(line) + "\n").encode())
            os.write(fd, (json.dumps({"exercise": ex_id, "end": "done"}) + "\n").encode())
    except OSError:
        pass
os._exit(0)
'''


def test_every_submission_gets_a_row(graded):
    assert len(graded["rows"]) == graded["n"]


@pytest.mark.parametrize("name", ["honest", "honest2", "no_headers", "infinite_loop_cell", "fork_bomb", "memory_bomb",
                                  "input_transformer", "李雷"])
def test_full_marks_despite_the_attack(graded, name):
    row = graded["rows"][name]
    assert row["status"] == "graded", row
    assert scores(row, IDS) == FULL, row


def test_the_instructor_notebooks_as_a_folder_get_full_marks_even_with_a_foreign_notebook(graded):
    row = graded["rows"]["one_corrupt_notebook"]
    assert scores(row, IDS) == [1, 0, 0, 1, 1, 1, 1], row


def test_a_corrupt_notebook_costs_only_its_own_exercises(graded):
    g = graded["grades"]["one_corrupt_notebook"]
    assert g.status == "graded"
    for i in ("1.2", "1.3"):
        assert g.exercises[i].status == "invalid notebook"
        assert "1.2-activations.ipynb is not a Jupyter notebook (not JSON" in g.exercises[i].reason
    assert "1.2-activations.ipynb is not a Jupyter notebook" in graded["rows"]["one_corrupt_notebook"]["reason"]


def test_a_loop_that_ignores_interrupts_in_a_cell_costs_its_notebook(graded):
    row = graded["rows"]["ignores_interrupts"]
    assert row["status"] == "timeout" and float(row["total"]) == 0
    assert "ran longer than 25 s" in row["reason"]


def test_os_exit_in_a_cell_is_the_submissions_own_crash(graded):
    row = graded["rows"]["os_exit"]
    assert row["status"] == "crashed" and "stopped while its cells ran" in row["reason"]
    assert "grader" not in row["reason"]


def test_faults_inside_functions_cost_only_their_exercise(graded):
    g = graded["grades"]["faults_in_functions"]
    assert [g.exercises[i].score for i in IDS] == [1, 0, 0, 1, 1, 0, 1]
    loop, crash, memory = g.exercises["1.2"], g.exercises["1.3"], g.exercises["1.6"]
    assert loop.status == "timeout" and loop.reason == ("exercise 1.2 did not return within 3 s on test case 1 "
                                                        "(the later test cases were not run)")
    assert crash.status == "crashed" and "its process ended (exit code 3" in crash.reason
    assert memory.status == "error" and "MemoryError" in memory.reason
    for e in (loop, crash, memory):
        assert "library" not in e.reason and "cheat" not in e.reason.lower()


def test_an_enormous_output_costs_only_its_exercise(graded):
    g = graded["grades"]["huge_output"]
    assert [g.exercises[i].score for i in IDS] == [1, 0, 0, 1, 1, 1, 1]   # 1.3 reuses the student's sigmoid
    assert "returned more than 16 MB of output" in g.exercises["1.2"].reason


@pytest.mark.parametrize("name", ["reads_instructor_notebook", "reads_other_submission"])
def test_files_outside_the_submission_are_invisible(graded, name):
    assert float(graded["rows"][name]["total"]) == 0


def test_the_output_folder_cannot_be_written(graded):
    assert "hacked" not in (graded["out"] / "grades.csv").read_text()
    row = graded["rows"]["writes_output"]
    assert row["status"] == "graded" and scores(row, IDS) == [0, 1, 0, 0, 0, 0, 0]


def test_monkeypatching_the_checks_changes_nothing(graded):
    g = graded["grades"]["monkeypatches_checks"]
    assert g.exercises["1.2"].score == 0 and g.exercises["1.2"].status == "wrong"


def test_printing_a_fake_score_changes_nothing(graded):
    row = graded["rows"]["fake_score"]
    assert row["status"] == "graded" and scores(row, IDS) == [1, 0, 0, 0, 0, 0, 0]


def test_a_forged_result_channel_gains_nothing(graded):
    g = graded["grades"]["forges_the_channel"]
    assert g.total == 0, {i: (e.status, e.reason) for i, e in g.exercises.items()}


def test_invalid_and_foreign_notebooks(graded):
    assert graded["rows"]["corrupt"]["status"] == "invalid notebook"
    assert "not JSON" in graded["rows"]["corrupt"]["reason"]
    row = graded["rows"]["other_unit"]
    assert row["status"] == "invalid notebook" and "Unit(s) 2" in row["reason"]


def test_the_untouched_student_version_is_not_attempted(graded):
    row = graded["rows"]["untouched"]
    assert row["status"] == "not attempted" and float(row["total"]) == 0
    assert graded["grades"]["untouched"].exercises["1.2"].reason == "still raises NotImplementedError"


def test_unicode_names_keep_their_own_feedback_files(graded):
    fb = graded["out"] / "feedback"
    assert (fb / "李雷.md").exists() and (fb / "王芳.md").exists()
    from dlcourse.grading.grade import unit_exercises

    n = len(unit_exercises(1))            # the unit's exercises; these submissions solve the first len(IDS)
    assert f"Score: {len(IDS)} of {n}" in (fb / "李雷.md").read_text(encoding="utf-8")
    assert f"Score: 3 of {n}" in (fb / "王芳.md").read_text(encoding="utf-8")


def test_feedback_files_say_what_failed(graded):
    text = (graded["out"] / "feedback" / "faults_in_functions.md").read_text()
    assert "exercise 1.2 did not return within 3 s on test case 1" in text
    assert (graded["out"] / "feedback" / "honest.md").read_text().count("passed") == 7


def test_the_run_ends_within_its_time_bound(graded):
    # 22 submissions, 2 notebooks at a time; the slowest are bounded by the 25 s cell limit and 3 s per call.
    assert graded["elapsed"] < 600


def test_regrading_a_subset_updates_only_those_rows(graded, tmp_path):
    out = tmp_path / "class"
    shutil.copytree(graded["out"], out)
    before = rows(out)
    untouched_feedback = (out / "feedback" / "fake_score.md").read_text()
    (out / "feedback" / "fake_score.md").write_text(untouched_feedback + "\nkept\n")
    subs = graded["subs"]
    write_nb(subs.parent / "fixed" / "monkeypatches_checks.ipynb", [PRELUDE, solution_cells(1)["1.2"]])
    grade([str(subs.parent / "fixed" / "monkeypatches_checks.ipynb"), str(subs / "honest.ipynb")], 1, out,
          limits=FAST, progress=False)
    after = rows(out)
    assert list(after) == list(before)          # same rows, same order
    assert scores(after["monkeypatches_checks"], IDS) == [0, 1, 0, 0, 0, 0, 0]
    for name in before:
        if name != "monkeypatches_checks":
            assert after[name] == before[name], name
    assert (out / "feedback" / "fake_score.md").read_text().endswith("kept\n")
    assert (out / "feedback" / "李雷.md").exists()


def test_regrading_into_another_unit_folder_is_refused(graded, tmp_path):
    out = tmp_path / "class"
    shutil.copytree(graded["out"], out)
    with pytest.raises(ValueError, match="other exercises"):
        grade([str(graded["subs"] / "honest.ipynb")], 2, out, limits=FAST, progress=False)


def test_collect_reads_files_folders_and_folders_of_folders(tmp_path):
    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    write_nb(tmp_path / "class" / "bob" / "n1.ipynb", ["x = 1"])
    write_nb(tmp_path / "class" / "bob" / "n2.ipynb", ["x = 2"])
    write_nb(tmp_path / "class" / "eve" / "n1.ipynb", ["x = 3"])
    subs = dict(collect([str(tmp_path / "a.ipynb"), str(tmp_path / "class")]))
    assert sorted(subs) == ["a", "bob", "eve"] and len(subs["bob"]) == 2


def test_feedback_names_are_unique_and_keep_letters():
    names = ["李雷", "王芳", "a b", "a_b", "a/b", "..", "José", "x" * 300]
    files = [feedback_name(n) for n in names]
    assert len(set(files)) == len(files)
    assert files[0] == "李雷" and files[1] == "王芳" and files[6] == "José"
    assert all("/" not in f and not f.startswith(".") and len(f) <= 150 for f in files)


def test_totals_are_summed_before_rounding():
    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade

    g = SubmissionGrade("x", exercises={i: ExerciseGrade(score=1 / 3) for i in "abc"}
                        | {"d": ExerciseGrade(score=2 / 3), "e": ExerciseGrade(score=2 / 3)})
    assert g.total == 2.3333


def test_bad_arguments(tmp_path):
    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    with pytest.raises(ValueError, match="unit must be one with exercises"):
        grade([str(tmp_path / "a.ipynb")], 99, tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="must not contain the submissions"):
        grade([str(tmp_path / "a.ipynb")], 1, tmp_path, progress=False)
    with pytest.raises(ValueError, match="jobs must be a positive int"):
        grade([str(tmp_path / "a.ipynb")], 1, tmp_path / "out", jobs=0, progress=False)
    with pytest.raises(ValueError, match="call_seconds must be a positive number"):
        Limits(call_seconds=0)


def test_missing_bubblewrap_stops_grading_with_the_install_command(tmp_path, monkeypatch):
    import dlcourse.grading.sandbox as sandbox

    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(GraderSetupError, match="apt-get install bubblewrap"):
        grade([str(tmp_path / "a.ipynb")], 1, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_decomposed_name_is_the_same_student_in_rows_and_feedback(tmp_path):
    """macOS writes "Zoë" decomposed (e + U+0308). grade must treat it as the gradebook does (NFC): one name, one row,
    one feedback file without a hash suffix, and a regrade under the composed spelling replaces the row.

    Fails if ``collect``/``write_outputs``/``feedback_name`` compare raw strings: two rows for one student, and a
    feedback file called "Zoë-<hash>.md".
    """
    import unicodedata

    from dlcourse.grading.grade import ExerciseGrade, SubmissionGrade, unit_exercises, write_outputs

    composed, decomposed = "Zoë", unicodedata.normalize("NFD", "Zoë")
    assert composed != decomposed
    write_nb(tmp_path / "class" / decomposed / "1.2-activations.ipynb", ["x = 1"])
    (name, _), = collect([str(tmp_path / "class")])
    assert name == composed
    assert feedback_name(decomposed) == feedback_name(composed) == composed

    ids = list(unit_exercises(1))
    out = tmp_path / "out"
    half = {i: ExerciseGrade(score=0.5) for i in ids}
    full = {i: ExerciseGrade(score=1.0) for i in ids}
    csv_path = write_outputs(out, 1, [SubmissionGrade(decomposed, exercises=half)])   # as an older run wrote it
    write_outputs(out, 1, [SubmissionGrade(composed, exercises=full)])
    graded = rows(out)
    assert list(graded) == [composed], graded
    assert graded[composed]["total"] == str(len(ids))
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [f"{composed}.md"]
    assert csv_path.read_text(encoding="utf-8").count(composed) == 1
