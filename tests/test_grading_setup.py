"""The grader checks its sandbox before grading, works from any checkout and working directory, and tells its own
faults from the students'."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dlcourse.grading.grade as G
import dlcourse.grading.sandbox as sandbox
from dlcourse.grading.grade import grade
from dlcourse.grading.library import GraderSetupError
from grading_support import FAST, ROOT, rows, solution_cells, write_nb

pytestmark = [pytest.mark.unit1, pytest.mark.slow,
              pytest.mark.skipif(not sandbox.have_bubblewrap(), reason="grading needs bubblewrap")]
PRELUDE = "import math\nimport numpy as np\nfrom dlcourse.graph import Value"


@pytest.fixture
def honest(tmp_path) -> Path:
    sol = solution_cells(1)
    return write_nb(tmp_path / "subs" / "honest.ipynb", [PRELUDE, sol["1.1"], sol["1.2"]])


def test_a_sandbox_that_cannot_see_numpy_stops_grading_naming_the_folder(honest, tmp_path, monkeypatch):
    real = sandbox.site_entries
    monkeypatch.setattr(sandbox, "site_entries", lambda: {k: v for k, v in real().items() if k != "numpy"})
    with pytest.raises(GraderSetupError) as err:
        grade([str(honest)], 1, tmp_path / "out", limits=FAST, progress=False)
    message = str(err.value)
    assert "trusted probe failed" in message and "numpy is not visible inside the sandbox" in message
    assert str(Path(real()["numpy"]).parent) in message
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_sandbox_that_imports_another_dlcourse_stops_grading_naming_both(honest, tmp_path, monkeypatch):
    other = tmp_path / "other"
    (other / "dlcourse").mkdir(parents=True)
    shutil.copytree(G.library.view()[0] / "dlcourse", other / "dlcourse", dirs_exist_ok=True)
    real = sandbox.site_entries
    monkeypatch.setattr(sandbox, "site_entries", lambda: real() | {"dlcourse": other / "dlcourse"})
    monkeypatch.setattr(sandbox, "BOOT", sandbox.BOOT.replace("sys.path[:0] = sys.argv[1:3]",
                                                              "sys.path[:0] = sys.argv[2:0:-1]"))
    with pytest.raises(GraderSetupError, match=r"imported dlcourse from /grader/site/dlcourse/__init__.py instead "
                                               r"of the grader's view"):
        grade([str(honest)], 1, tmp_path / "out", limits=FAST, progress=False)
    assert not (tmp_path / "out").exists() or not (tmp_path / "out" / "grades.csv").exists()


def test_the_grader_s_fault_is_not_the_student_s_crash(honest, tmp_path, monkeypatch):
    """A sandbox that fails for one notebook (after the probe passed) is a `grader error`, with a different reason
    from a submission that ends its own process."""
    sol = solution_cells(1)
    crasher = write_nb(tmp_path / "subs" / "crasher.ipynb", [PRELUDE, sol["1.1"], "import os\nos._exit(7)"])
    real = sandbox.runner_command

    def failing(view, notebook, sandboxed):
        cmd, env, path = real(view, notebook, sandboxed)
        if Path(notebook).name == "honest.ipynb":
            cmd = [c if c != str(sandbox.base_python()) else "/nonexistent/python" for c in cmd]
        return cmd, env, path

    monkeypatch.setattr(sandbox, "runner_command", failing)
    grade([str(honest), str(crasher)], 1, tmp_path / "out", limits=FAST, progress=False)
    r = rows(tmp_path / "out")
    assert r["honest"]["status"] == "grader error" and "not the student's fault" in r["honest"]["reason"]
    assert r["crasher"]["status"] == "crashed" and "stopped while its cells ran (exit code 7" in r["crasher"]["reason"]
    fb = (tmp_path / "out" / "feedback" / "honest.md").read_text()
    assert "grader error" in fb and "grade this submission again" in fb


def _grade_cli(python: str, cwd: Path, subs: list, out: Path, env: dict | None = None):
    return subprocess.run([python, "-m", "dlcourse", "grade", "--unit", "1", "--out", str(out), *map(str, subs)],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_grading_works_from_a_checkout_under_tmp_and_from_any_directory(honest, tmp_path):
    """A second checkout under /tmp (whose package the environment's editable install does not point at) is graded
    with its own package, and the same command run from / uses the installed one; both give full marks."""
    clone = tmp_path / "checkout"
    shutil.copytree(ROOT / "dlcourse", clone / "dlcourse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "units" / "01-backprop", clone / "units" / "01-backprop")
    hint = clone / "dlcourse" / "checks" / "unit1.py"
    hint.write_text(hint.read_text().replace("does the hard part.", "does the hard part (from the clone)."))
    assert str(clone).startswith(tempfile_root())
    sol = solution_cells(1)
    write_nb(honest.parent / "wrong.ipynb", [PRELUDE, sol["1.2"], "def sigmoid_prime(x):\n    return x"])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for cwd, expect_hint in ((clone, "(from the clone)"), (Path("/"), "does the hard part.")):
        out = tmp_path / f"out-{cwd.name or 'root'}"
        proc = _grade_cli(sys.executable, cwd, sorted(honest.parent.glob("*.ipynb")), out, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        r = rows(out)
        assert r["honest"]["status"] == "graded" and float(r["honest"]["exercise 1.2"]) == 1, r["honest"]
        assert expect_hint in (out / "feedback" / "wrong.md").read_text()


def tempfile_root() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_the_cli_reports_a_setup_failure_without_writing_rows(honest, tmp_path):
    env = {**{k: v for k, v in os.environ.items()}, "PATH": "/nonexistent"}
    proc = subprocess.run([sys.executable, "-m", "dlcourse", "grade", "--unit", "1", "--out", str(tmp_path / "out"),
                           str(honest)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2
    assert "apt-get install bubblewrap" in proc.stderr and "stopped before grading anything" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_help_says_other_rows_are_kept():
    proc = subprocess.run([sys.executable, "-m", "dlcourse", "grade", "--help"], capture_output=True, text=True)
    assert "left untouched" in " ".join(proc.stdout.split())


def test_without_bubblewrap_the_library_is_still_absent(tmp_path):
    """--no-sandbox loses the file-system isolation, not the guarantee that the library's implementations are absent."""
    sol = solution_cells(1)
    honest = write_nb(tmp_path / "subs" / "honest.ipynb", [PRELUDE, sol["1.2"]])
    calls = write_nb(tmp_path / "subs" / "calls.ipynb", [
        "def sigmoid(x):\n    from dlcourse.activations import sigmoid as s\n    return s(x)"])
    grade([str(honest), str(calls)], 1, tmp_path / "out", limits=FAST, sandbox=False, progress=False)
    r = rows(tmp_path / "out")
    assert float(r["honest"]["exercise 1.2"]) == 1
    assert float(r["calls"]["exercise 1.2"]) == 0
    assert "uses the library's own implementation" in (tmp_path / "out" / "feedback" / "calls.md").read_text()



def test_the_grader_s_own_code_is_not_in_the_sandbox(tmp_path):
    """The probe's right answer (exercise 2.1) and the grader's stand-ins are not readable where students' code runs."""
    steal = write_nb(tmp_path / "subs" / "steal.ipynb", [
        "from dlcourse.grading.grade import PROBE_SOURCE\nexec(PROBE_SOURCE)",
        "import dlcourse, os\n"
        "src = open(os.path.join(os.path.dirname(dlcourse.__file__), 'grading', 'grade.py')).read()\n"
        "exec(src[src.index('PROBE_SOURCE = ') + 15:].split(chr(10))[0].strip().strip('\"').encode().decode("
        "'unicode_escape'))"])
    grade([str(steal)], 2, tmp_path / "out", limits=FAST, progress=False)
    assert float(rows(tmp_path / "out")["steal"]["exercise 2.1"]) == 0
