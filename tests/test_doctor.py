"""``python -m dlcourse doctor``: passes in the course environment; each check fails with a fix."""

import io
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.unit1

from dlcourse import doctor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VersionInfo = namedtuple("VersionInfo", "major minor micro releaselevel serial")


def assert_fails_with_a_fix(check, *words):
    assert isinstance(check, doctor.Check)
    assert check.ok is False
    assert check.fix, f"{check.name}: a failure must say how to fix it"
    for w in words:
        assert w in check.detail + " " + check.fix


def test_doctor_passes_here_with_one_line_per_check():
    proc = subprocess.run([sys.executable, "-m", "dlcourse", "doctor"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(doctor.CHECKS) + 1
    assert all(line.startswith("[ok  ] ") for line in lines[:-1])
    names = [line[7:].split(":")[0] for line in lines[:-1]]
    assert names == ["course environment", "Python", "package versions", "widgets in JupyterLab", "torch", "bundled datasets",
                     "matplotlib cache", "Jupyter kernel"]
    assert lines[-1] == "all checks passed — you are ready for the course"


def test_every_check_passes_in_process():
    for fn in doctor.CHECKS:
        c = fn()
        assert c.ok, c


def test_the_console_script_exists():
    script = Path(sys.executable).parent / "dlcourse"
    assert script.exists() and os.access(script, os.X_OK)
    assert (ROOT / ".venv" / "bin" / "dlcourse").exists()
    assert "dlcourse.cli" in script.read_text()


# -- each check, broken -----------------------------------------------------------------------------
def test_old_python(monkeypatch):
    fake = SimpleNamespace(version_info=VersionInfo(3, 10, 4, "final", 0), executable="/opt/py310/bin/python")
    monkeypatch.setattr(doctor, "sys", fake)
    c = doctor.check_python()
    assert_fails_with_a_fix(c, "3.10.4", "/opt/py310/bin/python", "Python 3.11 or newer")


def test_a_wrong_pinned_version(tmp_path):
    import numpy

    lock = tmp_path / "course.lock"
    lock.write_text("# pins\nnumpy==0.0.1  # far too old\nTorch==2.13.0\n")
    c = doctor.check_versions(lock)
    assert_fails_with_a_fix(c, f"numpy {numpy.__version__} (pinned 0.0.1)", "make lab",
                            ".venv/bin/python -m dlcourse doctor")
    assert "torch" not in c.detail  # 2.13.0+cpu matches 2.13.0


def test_read_pins_normalises_names(tmp_path):
    lock = tmp_path / "course.lock"
    lock.write_text("jupyterlab_widgets==3.0.0\n# comment==1\nScikit-Learn==1.5.0  # via course\n\n-e .\n")
    assert doctor.read_pins(lock) == {"jupyterlab-widgets": "3.0.0", "scikit-learn": "1.5.0"}


def test_a_missing_package(tmp_path, monkeypatch):
    import importlib.metadata as md

    real = md.version

    def version(name):
        if name == "tqdm":
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(doctor.md, "version", version)
    lock = tmp_path / "course.lock"
    lock.write_text("tqdm==4.67.1\n")
    assert_fails_with_a_fix(doctor.check_versions(lock), "tqdm missing (want 4.67.1)")


def test_no_lock_file_skips_the_version_check(tmp_path):
    c = doctor.check_versions(tmp_path / "nope.lock")
    assert c.ok and "skipped" in c.detail


def test_the_real_lock_file_matches():
    assert doctor.LOCK.exists()
    assert doctor.check_versions().ok


def test_widgets_extension_missing(tmp_path, monkeypatch):
    import jupyter_core.paths

    empty = tmp_path / "labextensions"
    empty.mkdir()
    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *sub: [str(empty)])
    assert_fails_with_a_fix(doctor.check_widgets_extension(), "jupyterlab-manager", "pip install jupyterlab_widgets")


def test_matplotlib_cache_not_writable(tmp_path, monkeypatch):
    import matplotlib

    cache = tmp_path / "mplcache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        if os.access(cache, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        monkeypatch.setattr(matplotlib, "get_cachedir", lambda: str(cache))
        assert_fails_with_a_fix(doctor.check_matplotlib_cache(), str(cache), "MPLCONFIGDIR")
    finally:
        cache.chmod(0o700)


@pytest.mark.parametrize("kind", ["missing folder", "a file"])
def test_matplotlib_cache_unusable(tmp_path, monkeypatch, kind):
    """Works as root too: a cache 'folder' that does not exist or is a file cannot hold files."""
    import matplotlib

    cache = tmp_path / "cache"
    if kind == "a file":
        cache.write_text("not a folder")
    monkeypatch.setattr(matplotlib, "get_cachedir", lambda: str(cache))
    assert_fails_with_a_fix(doctor.check_matplotlib_cache(), "is not writable", "MPLCONFIGDIR")


def test_no_python3_kernel(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setattr(KernelSpecManager, "find_kernel_specs", lambda self: {"julia": "/x"})
    assert_fails_with_a_fix(doctor.check_kernel(), "no 'python3' kernel", "ipykernel install")


def test_broken_datasets(monkeypatch):
    import numpy as np

    import dlcourse.data

    monkeypatch.setattr(dlcourse.data, "load_digits", lambda: (np.zeros((10, 64)), np.zeros(10)))
    assert_fails_with_a_fix(doctor.check_datasets(), "(10, 64)", "scikit-learn")


# -- run --------------------------------------------------------------------------------------------
def test_run_reports_failures_and_exceptions(monkeypatch):
    def broken_thing():
        raise RuntimeError("it broke")

    failing = lambda: doctor.Check("widgets", False, "gone", "reinstall it")  # noqa: E731
    passing = lambda: doctor.Check("fine", True, "all good")  # noqa: E731
    monkeypatch.setattr(doctor, "CHECKS", [passing, failing, broken_thing])
    out = io.StringIO()
    assert doctor.run(out) == 1
    lines = out.getvalue().splitlines()
    assert lines == [
        "[ok  ] fine: all good",
        "[FAIL] widgets: gone",
        "       fix: reinstall it",
        "[FAIL] broken thing: RuntimeError: it broke",
        f"       fix: {doctor.FIX_ENV}",
        "2 check(s) failed — fix them, then run `.venv/bin/python -m dlcourse doctor` again",
    ]


def test_run_passes(monkeypatch):
    monkeypatch.setattr(doctor, "CHECKS", [lambda: doctor.Check("fine", True, "ok")])
    out = io.StringIO()
    assert doctor.run(out) == 0
    assert out.getvalue().endswith("all checks passed — you are ready for the course\n")


# -- outside the course environment (issue 13: six failures each saying `make setup`, which did nothing) -----------
SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no /usr/bin/python3 to play the student's system Python")
def test_outside_the_environment_it_says_exactly_how_to_run_inside():
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(SYSTEM_PYTHON), "-m", "dlcourse", "doctor"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("[FAIL] course environment: this is /usr/bin/python3")
    assert f"cd {ROOT} && .venv/bin/python -m dlcourse doctor" in lines[1] and "make lab" in lines[1]
    # no other failure sends the student to `make setup` (which would say "Nothing to be done")
    assert "make setup" not in "\n".join(lines[2:])
    assert lines[-1].endswith("then run `.venv/bin/python -m dlcourse doctor` again")


def test_environment_check_inside_passes():
    c = doctor.check_environment()
    assert c.ok and ".venv" in c.detail


def test_environment_check_outside(tmp_path):
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    assert_fails_with_a_fix(doctor.check_environment(venv), "not the course environment",
                            ".venv/bin/python -m dlcourse doctor", "make lab")


def test_environment_check_before_setup(tmp_path, monkeypatch):
    import importlib.metadata as md

    def version(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(doctor.md, "version", version)
    assert_fails_with_a_fix(doctor.check_environment(tmp_path / ".venv"), "does not exist yet", "make lab",
                            ".venv/bin/python -m dlcourse doctor")


def test_environment_check_elsewhere_with_dlcourse_installed_is_fine(tmp_path):
    """A hub image or a library user installs dlcourse into their own environment: no course .venv there."""
    assert doctor.check_environment(tmp_path / "no-venv").ok


def test_outside_later_failures_point_at_the_first_line(monkeypatch):
    outside = lambda: doctor.Check("course environment", False, "elsewhere", "run it inside")  # noqa: E731
    outside.__name__ = "check_environment"
    monkeypatch.setattr(doctor, "check_environment", outside)
    monkeypatch.setattr(doctor, "CHECKS", [outside, lambda: doctor.Check("torch", False, "missing", "make setup")])
    out = io.StringIO()
    assert doctor.run(out) == 1
    text = out.getvalue()
    assert "fix: run it inside" in text and "make setup" not in text and "see the first line" in text


# -- doctor --instructor (issue 12 point 9): bubblewrap and the instructor's tools -------------------------------------
def test_bubblewrap_missing(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    assert_fails_with_a_fix(doctor.check_bubblewrap(), "not installed", "apt-get install bubblewrap")


def test_bubblewrap_that_cannot_sandbox(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(doctor.shutil, "which", lambda name: str(fake))
    assert_fails_with_a_fix(doctor.check_bubblewrap(), "No permissions to create new namespace",
                            "unprivileged_userns_clone")


@pytest.mark.skipif(not Path("/usr/bin/bwrap").exists(), reason="bubblewrap is not installed here")
def test_bubblewrap_here():
    assert doctor.check_bubblewrap().ok


def test_instructor_tools_missing(monkeypatch, tmp_path):
    import importlib.metadata as md

    real = md.version
    monkeypatch.setattr(doctor.md, "version", lambda n: (_ for _ in ()).throw(md.PackageNotFoundError(n))
                        if n == "jupyter-book" else real(n))
    lock = tmp_path / "course.lock"
    lock.write_text("jupyter-book==1.0.4.post1\n")
    assert_fails_with_a_fix(doctor.check_instructor_tools(lock), "jupyter-book missing", "make test")


def test_the_student_check_does_not_ask_for_instructor_tools():
    assert not set(doctor.INSTRUCTOR_PACKAGES) & set(doctor.KEY_PACKAGES)


def test_doctor_instructor_on_the_command_line(monkeypatch, capsys):
    from dlcourse.cli import main

    monkeypatch.setattr(doctor, "CHECKS", [])
    monkeypatch.setattr(doctor, "INSTRUCTOR_CHECKS", [lambda: doctor.Check("bubblewrap", False, "`bwrap` is not "
                                                                           "installed", "apt-get install bubblewrap")])
    assert main(["doctor", "--instructor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] bubblewrap" in out and "apt-get install bubblewrap" in out and "--instructor` again" in out
