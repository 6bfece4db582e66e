"""Progress that remembers (issue 13, point 5): ``check()`` records into the workspace's progress file, and
``progress()`` shows every unit's exercises across notebooks and kernels; ``progress.reset()`` forgets.

Recording must never break a check: no workspace, an unwritable or corrupt file, grading (DLCOURSE_GRADING=1).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit1

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import (ERROR, NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise, progress,  # noqa: E402
                             records, reset_progress)

ROOT = Path(__file__).resolve().parents[1]


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 1.x: replace this line with your code")


def wrong(*args, **kwargs):
    return 0.0


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})
    monkeypatch.setattr(checks, "_TIMES", {})
    monkeypatch.delenv(records.ENV_VAR, raising=False)
    monkeypatch.delenv(records.GRADING_VAR, raising=False)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A workspace (its marker file is all that check() looks for) and a notebook folder in it as the cwd."""
    ws = tmp_path / "workspace"
    (ws / "01-backprop").mkdir(parents=True)
    (ws / records.MARKER).write_text('{"format": 1, "notebooks": {}}')
    monkeypatch.chdir(ws / "01-backprop")
    return ws


def saved(ws):
    return json.loads((ws / records.PROGRESS_FILE).read_text())["results"]


def statuses(unit=None):
    return {i: s for i, _, s in progress(unit)}


def another_kernel(cwd, code, env=None):
    """A separate Python process, as another notebook's kernel is (the library-use watch off, as in conftest.py)."""
    code = "import dlcourse.checks.library_use as _u; _u.enabled = lambda: False\n" + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- recording -----------------------------------------------------------------------------------------------------
def test_each_check_is_recorded_in_the_workspace(workspace, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(workspace / "01-backprop" / "1.2-activations.ipynb"))
    check("1.4", get_exercise("1.4").reference)
    check("1.3", stub)
    results = saved(workspace)
    assert results["1.4"]["status"] == PASSED and results["1.3"]["status"] == NOT_ATTEMPTED
    assert results["1.4"]["notebook"] == "01-backprop/1.2-activations.ipynb"
    assert results["1.4"]["time"].endswith("Z")


def test_progress_remembers_across_kernels_and_notebooks(workspace):
    another_kernel(workspace / "01-backprop", """
        from dlcourse.checks import check, get_exercise
        check("1.4", get_exercise("1.4").reference)
        check("1.5", lambda *a, **k: 0.0)
    """)
    assert checks._LATEST == {}                     # nothing checked in this kernel
    s = statuses(1)
    assert s["1.4"] == PASSED and s["1.5"] == WRONG and s["1.1"] == NOT_ATTEMPTED
    rows = progress()
    assert rows.source == workspace.resolve() / records.PROGRESS_FILE
    assert "remembered in" in str(rows)
    # a later check in this kernel replaces the other kernel's result, and the other way round
    check("1.5", get_exercise("1.5").reference)
    assert statuses(1)["1.5"] == PASSED
    another_kernel(workspace, """
        from dlcourse.checks import check
        check("1.5", lambda *a, **k: 0.0)
    """)
    assert statuses(1)["1.5"] == WRONG


def test_all_units_are_shown(workspace):
    from dlcourse.checks import EXERCISES

    rows = progress()
    assert len(rows) == len(EXERCISES) and {i.split(".")[0] for i, _, _ in rows} >= {"1", "2", "3", "4", "5"}


def test_the_variable_names_the_workspace(tmp_path, monkeypatch):
    ws = tmp_path / "elsewhere"
    ws.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(records.ENV_VAR, str(ws))
    check("1.4", get_exercise("1.4").reference)
    assert saved(ws)["1.4"]["status"] == PASSED


def test_no_workspace_no_file_and_this_kernel_still_counts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check("1.4", get_exercise("1.4").reference)
    assert not list(tmp_path.rglob(records.PROGRESS_FILE))
    assert statuses(1)["1.4"] == PASSED
    assert progress().source is None and "this kernel only" in str(progress(1))


def test_grading_records_nothing(workspace, monkeypatch):
    monkeypatch.setenv(records.GRADING_VAR, "1")
    check("1.4", get_exercise("1.4").reference)
    assert not (workspace / records.PROGRESS_FILE).exists()


@pytest.mark.parametrize("damage", ["a folder", "corrupt", "not a dict", "a dangling lock path"])
def test_recording_never_raises(workspace, damage):
    path = workspace / records.PROGRESS_FILE
    if damage == "a folder":
        path.mkdir()
    elif damage == "corrupt":
        path.write_text("{half")
    elif damage == "not a dict":
        path.write_text('{"format": 1, "results": [1, 2]}')
    else:
        (workspace / (records.PROGRESS_FILE + ".lock")).mkdir()
    result = check("1.4", get_exercise("1.4").reference)
    assert result.status == PASSED
    assert statuses(1)["1.4"] == PASSED              # this kernel's result still shows
    if damage in ("corrupt", "not a dict"):
        assert saved(workspace)["1.4"]["status"] == PASSED   # a bad file is replaced by a good one


def test_an_unwritable_workspace_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(records.ENV_VAR, str(blocker / "ws"))
    assert check("1.4", get_exercise("1.4").reference).status == PASSED
    assert records.record("1.4", PASSED) is False


def test_unknown_statuses_in_the_file_are_ignored(workspace):
    (workspace / records.PROGRESS_FILE).write_text(json.dumps({"format": 1, "results": {
        "1.4": {"status": "hacked"}, "1.5": "passed", "1.6": {"status": PASSED, "time": "2026-01-01T00:00:00Z"}}}))
    s = statuses(1)
    assert s["1.4"] == NOT_ATTEMPTED and s["1.5"] == NOT_ATTEMPTED and s["1.6"] == PASSED


def test_two_kernels_checking_at_once_lose_nothing(workspace):
    code = """
        import sys
        from dlcourse.checks import records
        for i in range(int(sys.argv[1]), int(sys.argv[1]) + 30):
            assert records.record(f"9.{i}", "passed")
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(start)], cwd=workspace)
             for start in (0, 100)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(saved(workspace)) == 60


# -- reset ---------------------------------------------------------------------------------------------------------------
def test_reset_forgets_all_or_one_unit(workspace):
    check("1.4", get_exercise("1.4").reference)
    check("2.1", get_exercise("2.1").reference)
    assert progress.reset is reset_progress
    message = progress.reset(1)
    assert "Unit 1" in message and "1 remembered" in message
    assert statuses()["1.4"] == NOT_ATTEMPTED and statuses()["2.1"] == PASSED
    assert set(saved(workspace)) == {"2.1"}
    reset_progress()
    assert saved(workspace) == {} and statuses()["2.1"] == NOT_ATTEMPTED


def test_reset_without_a_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check("1.4", get_exercise("1.4").reference)
    assert "0 remembered" in reset_progress() and statuses(1)["1.4"] == NOT_ATTEMPTED


@pytest.mark.parametrize("bad", ["1", 1.0, True])
def test_bad_units_are_refused(bad):
    with pytest.raises(TypeError, match="unit must be an int"):
        progress(bad)
    with pytest.raises(TypeError, match="unit must be an int"):
        reset_progress(bad)


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match=r"unit must be one of \[1, 2, 3, 4, 5.*got 9"):
        progress(9)


# -- the picture ---------------------------------------------------------------------------------------------------------
def test_the_strip_has_one_labelled_square_per_exercise(workspace):
    check("1.4", get_exercise("1.4").reference)
    check("1.5", wrong)
    check("1.2", lambda *a, **k: 1 / 0)
    rows = progress()
    strip = rows.strip_html()
    assert strip.count('role="img"') == len(rows)
    for ex_id, status in [("1.4", PASSED), ("1.5", WRONG), ("1.2", ERROR), ("1.1", NOT_ATTEMPTED)]:
        assert f'aria-label="exercise {ex_id}: {status}"' in strip
        assert checks.STATUS_STYLE[status][0] in strip
    assert strip.count("Unit ") >= 5 and "✓ passed" in strip           # a text legend, not colour alone
    html = rows._repr_html_()
    assert html.startswith(strip) and html.count("<tr>") == len(rows) + 1


def test_the_palette_is_okabe_ito_and_distinct():
    colours = [bg for bg, _, _ in checks.STATUS_STYLE.values()]
    assert len(set(colours)) == 5 and {"#0072B2", "#D55E00", "#CC79A7", "#E69F00"} <= set(colours)
    assert len({sym for _, _, sym in checks.STATUS_STYLE.values()}) == 5


def test_the_figure(workspace):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    check("1.4", get_exercise("1.4").reference)
    rows = progress()
    fig = rows.figure()
    ax = fig.axes[0]
    squares = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(squares) == len(rows)
    texts = [t.get_text() for t in ax.texts]
    assert "1.4\n✓" in texts and "1.1\n·" in texts
    assert all(t.get_fontsize() >= 9 for t in ax.texts)
    assert "1 of" in ax.get_title()
    plt.close(fig)


def test_the_plain_text_table_keeps_its_columns_with_every_status():
    """The title column starts at one place on every row, also beside "uses the library" (the longest status).

    Fails with a fixed status width narrower than a status (it was 14: the ⚠ rows' titles were pushed right).
    """
    from dlcourse.checks import USES_LIBRARY, Progress

    rows = Progress([("1.1", "Sigmoid", PASSED), ("1.2", "Softplus", USES_LIBRARY), ("1.3", "Tanh", NOT_ATTEMPTED),
                     ("1.4", "ReLU", WRONG), ("1.5", "GELU", ERROR)])
    table = str(rows).splitlines()[:-1]
    starts = {line.index(title) for line, title in zip(table, ["title", "Sigmoid", "Softplus", "Tanh", "ReLU", "GELU"])}
    assert len(starts) == 1, table
