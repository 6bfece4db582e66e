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
    assert names == ["Python", "package versions", "widgets in JupyterLab", "torch", "bundled datasets",
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
    assert_fails_with_a_fix(c, f"numpy {numpy.__version__} (pinned 0.0.1)", "make setup")
    assert "torch" not in c.detail  # 2.13.0+cpu matches 2.13.0


def test_read_pins_normalises_names(tmp_path):
    lock = tmp_path / "course.lock"
    lock.write_text("jupyterlab_widgets==3.0.0\n# comment==1\nScikit-Learn==1.5.0  # via course\n\n-e .\n")
    assert doctor.read_pins(lock) == {"jupyterlab-widgets": "3.0.0", "scikit-learn": "1.5.0"}


def test_a_missing_package(tmp_path, monkeypatch):
    import importlib.metadata as md

    real = md.version

    def version(name):
        if name == "nbval":
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(doctor.md, "version", version)
    lock = tmp_path / "course.lock"
    lock.write_text("nbval==0.11.0\n")
    assert_fails_with_a_fix(doctor.check_versions(lock), "nbval missing (want 0.11.0)")


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
        "2 check(s) failed — fix them, then run `python -m dlcourse doctor` again",
    ]


def test_run_passes(monkeypatch):
    monkeypatch.setattr(doctor, "CHECKS", [lambda: doctor.Check("fine", True, "ok")])
    out = io.StringIO()
    assert doctor.run(out) == 0
    assert out.getvalue().endswith("all checks passed — you are ready for the course\n")
