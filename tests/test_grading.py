"""The grader against honest and adversarial submissions, all graded in one run.

Each adversarial notebook holds the honest solutions of some exercises plus one attack; the
test checks the status and the scores, that honest submissions in the same run are graded
correctly, and that the whole run ends within its time bound.
"""

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading.grade import collect, grade
from dlcourse.grading.sandbox import Limits, have_bubblewrap

pytestmark = [pytest.mark.unit1, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PRELUDE = "import math\nimport numpy as np\nfrom dlcourse.graph import Value"
IDS = ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]


def solution_cells() -> dict:
    """Exercise id -> the instructor's solution cell."""
    cells = {}
    for path in sorted((ROOT / "units" / "01-backprop").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
                ex_id = cell.source.split("Exercise ")[1].split(":")[0]
                cells[ex_id] = cell.source
    return cells


def write_nb(path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    subs, out = base / "subs", base / "out"
    sol = solution_cells()
    honest = [PRELUDE] + [sol[i] for i in IDS]
    secret_file = ROOT / "units" / "01-backprop" / "1.2-activations.ipynb"
    attacks = {
        "honest": honest,
        "honest2": honest,
        "infinite_loop": [PRELUDE, "while True:\n    pass"] + [sol[i] for i in IDS],
        "ignores_interrupts": [PRELUDE] + [sol[i] for i in IDS] + [
            "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass"],
        "os_exit": [PRELUDE] + [sol[i] for i in IDS] + ["import os\nos._exit(0)"],
        "fork_bomb": [PRELUDE, "import os\nwhile True:\n    os.fork()"] + [sol[i] for i in IDS],
        "memory_bomb": [PRELUDE, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))"]
                       + [sol[i] for i in IDS],
        "reads_instructor_notebook": [PRELUDE,
            f"SOURCE = open({str(secret_file)!r}).read()",
            "import json\nfor c in json.loads(SOURCE)['cells']:\n    src = ''.join(c['source'])\n"
            "    if 'def sigmoid' in src:\n        exec(src)"],
        "reads_other_submission": [PRELUDE, f"exec(open({str(subs / 'honest.ipynb')!r}).read())"],
        "writes_output": [PRELUDE, f"open({str(out / 'grades.csv')!r}, 'w').write('hacked,7')"]
                         + [sol["1.2"]],
        "monkeypatches_checks": [PRELUDE,
            "import dlcourse.checks.exercise as E, dlcourse.grading.grade as G, dlcourse.checks.unit1 as U\n"
            "E.compare_outputs = lambda *a, **k: None\nG.score_exercise = None\n"
            "U._run_without_overflow = lambda fn, case: {'output': 1 / (1 + np.exp(-case['x']))}",
            "# Exercise 1.2: sigmoid\ndef sigmoid(x):\n    return x"],
        "fake_score": [PRELUDE, "print('{\"notebooks\": [{\"exercises\": {}}]}')\nprint('score: 7/7')",
                       "import os\nos.write(1, b'7/7')"] + [sol["1.1"]],
        "input_transformer": [PRELUDE,
            "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: ['sigmoid = lambda x: x\\n'])"]
                             + [sol[i] for i in IDS],
        "calls_reference": [PRELUDE,
            "# Exercise 1.2: sigmoid\ndef sigmoid(x):\n    from dlcourse.activations import sigmoid as s\n"
            "    return s(x)",
            "# Exercise 1.7: softmax_cross_entropy_grad\nimport torch\n"
            "def softmax_cross_entropy_grad(logits, labels):\n    t = torch.tensor(logits, requires_grad=True)\n"
            "    torch.nn.functional.cross_entropy(t, torch.tensor(labels)).backward()\n    return t.grad.numpy()",
            sol["1.1"]],
        "untouched": None,
    }
    for name, sources in attacks.items():
        if sources is not None:
            write_nb(subs / f"{name}.ipynb", sources)
    released = base / "rel"
    from dlcourse.grading.release import release
    release(ROOT / "units", released)
    (subs / "untouched").mkdir()
    for nb in (released / "student" / "01-backprop").glob("*.ipynb"):
        (subs / "untouched" / nb.name).write_bytes(nb.read_bytes())
    (subs / "corrupt.ipynb").write_text("{not json")
    write_nb(subs / "other_unit.ipynb", ["# Exercise 2.1: mse\ndef mse(pred, target):\n    return 0.0"])
    limits = Limits(total_seconds=90, cell_seconds=30, cpu_seconds=180, memory_mb=3072, max_processes=48)
    start = time.perf_counter()
    grades = grade([str(p) for p in sorted(subs.iterdir())], 1, out, limits=limits, jobs=2, progress=False)
    elapsed = time.perf_counter() - start
    rows = {r["submission"]: r for r in csv.DictReader((out / "grades.csv").open())}
    return {"grades": {g.name: g for g in grades}, "rows": rows, "elapsed": elapsed, "out": out,
            "n": len(list(subs.iterdir()))}


def scores(row):
    return [float(row[f"exercise {i}"]) for i in IDS]


def test_every_submission_gets_a_row(graded):
    assert len(graded["rows"]) == graded["n"]


@pytest.mark.parametrize("name", ["honest", "honest2", "infinite_loop", "fork_bomb", "memory_bomb",
                                  "input_transformer"])
def test_full_marks_despite_the_attack(graded, name):
    row = graded["rows"][name]
    assert row["status"] == "graded", row
    assert scores(row) == [1.0] * 7, row


def test_a_loop_that_ignores_interrupts_times_out(graded):
    assert graded["rows"]["ignores_interrupts"]["status"] == "timeout"
    assert float(graded["rows"]["ignores_interrupts"]["total"]) == 0


def test_os_exit_crashes(graded):
    row = graded["rows"]["os_exit"]
    assert row["status"] == "crashed" and "without a result" in row["reason"]


@pytest.mark.parametrize("name", ["reads_instructor_notebook", "reads_other_submission"])
def test_files_outside_the_submission_are_invisible(graded, name):
    if not have_bubblewrap():
        pytest.skip("isolation of files needs bubblewrap")
    assert float(graded["rows"][name]["total"]) == 0


def test_the_output_folder_cannot_be_written(graded):
    if not have_bubblewrap():
        pytest.skip("isolation of files needs bubblewrap")
    assert "hacked" not in (graded["out"] / "grades.csv").read_text()
    row = graded["rows"]["writes_output"]
    assert row["status"] == "graded" and scores(row) == [0, 1, 0, 0, 0, 0, 0]


def test_monkeypatching_the_checks_changes_nothing(graded):
    row = graded["rows"]["monkeypatches_checks"]
    assert scores(row)[2] == 0
    assert graded["grades"]["monkeypatches_checks"].exercises["1.2"].status == "wrong"


def test_printing_a_fake_score_changes_nothing(graded):
    row = graded["rows"]["fake_score"]
    assert row["status"] == "graded" and scores(row) == [1, 0, 0, 0, 0, 0, 0]


def test_calling_the_reference_scores_zero_with_a_reason(graded):
    g = graded["grades"]["calls_reference"]
    assert g.exercises["1.2"].score == 0 and g.exercises["1.2"].status == "reference called"
    assert "dlcourse.activations.sigmoid" in g.exercises["1.2"].reason
    assert g.exercises["1.7"].score == 0 and "torch" in g.exercises["1.7"].reason
    assert g.exercises["1.1"].score == 1


def test_invalid_and_foreign_notebooks(graded):
    assert graded["rows"]["corrupt"]["status"] == "invalid notebook"
    row = graded["rows"]["other_unit"]
    assert row["status"] == "invalid notebook" and "Unit(s) 2" in row["reason"]


def test_the_untouched_student_version_is_not_attempted(graded):
    row = graded["rows"]["untouched"]
    assert row["status"] == "not attempted" and float(row["total"]) == 0


def test_feedback_files_say_what_failed(graded):
    text = (graded["out"] / "feedback" / "calls_reference.md").read_text()
    assert "reference called" in text and "instead of implementing" in text
    assert (graded["out"] / "feedback" / "honest.md").read_text().count("passed") == 7


def test_the_run_ends_within_its_time_bound(graded):
    # 18 submissions, 2 at a time, each bounded by 90 s of wall clock.
    assert graded["elapsed"] < 9 * 90 + 30


def test_regrading_is_idempotent(graded, tmp_path):
    subs = graded["out"].parent / "subs"
    out2 = tmp_path / "again"
    picks = [str(subs / "honest.ipynb"), str(subs / "monkeypatches_checks.ipynb"), str(subs / "corrupt.ipynb")]
    grade(picks, 1, out2, limits=Limits(total_seconds=90, cell_seconds=30), progress=False)
    again = {r["submission"]: r for r in csv.DictReader((out2 / "grades.csv").open())}
    for name in ("honest", "monkeypatches_checks", "corrupt"):
        assert again[name] == graded["rows"][name]


def test_collect_reads_files_folders_and_folders_of_folders(tmp_path):
    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    write_nb(tmp_path / "class" / "bob" / "n1.ipynb", ["x = 1"])
    write_nb(tmp_path / "class" / "bob" / "n2.ipynb", ["x = 2"])
    write_nb(tmp_path / "class" / "eve" / "n1.ipynb", ["x = 3"])
    subs = dict(collect([str(tmp_path / "a.ipynb"), str(tmp_path / "class")]))
    assert sorted(subs) == ["a", "bob", "eve"] and len(subs["bob"]) == 2


def test_bad_arguments(tmp_path):
    write_nb(tmp_path / "a.ipynb", ["x = 1"])
    with pytest.raises(ValueError, match="unit must be one with exercises"):
        grade([str(tmp_path / "a.ipynb")], 99, tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="must not contain the submissions"):
        grade([str(tmp_path / "a.ipynb")], 1, tmp_path, progress=False)
