"""The commands around the workspace (issue 13, points 1 and 10): what `make lab`, `make book` and `make setup` run
(dry runs, `make -n`), and a set-up with no warning of the project's own."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit1

ROOT = Path(__file__).resolve().parents[1]


def dry(target: str, *args: str) -> list[str]:
    """What `make TARGET` would run, as if nothing were installed yet."""
    proc = subprocess.run(["make", "-n", "-B", "--no-print-directory", target, "VENV=/tmp/no-such-venv", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_make_lab_installs_only_the_lab_extra_then_writes_the_workspace_then_opens_it():
    lines = dry("lab", "LAB_ARGS=--no-browser")
    installs = [ln for ln in lines if "pip install" in ln and "-e" in ln]
    assert installs and all('-e ".[lab]"' in ln for ln in installs), installs
    ws = next(i for i, ln in enumerate(lines) if "-m dlcourse workspace" in ln)
    lab = next(i for i, ln in enumerate(lines) if "jupyter lab" in ln)
    assert ws < lab
    assert "--ServerApp.root_dir=workspace" in lines[lab] and lines[lab].endswith("--no-browser")


def test_make_workspace_is_the_workspace_step_alone():
    lines = dry("workspace")
    assert not any("jupyter lab" in ln for ln in lines)
    assert lines[-1].endswith("-m dlcourse workspace --dest workspace")


def test_make_lab_instructor_opens_the_solved_notebooks():
    assert any("jupyter lab --ServerApp.root_dir=units" in ln for ln in dry("lab-instructor"))


def test_make_book_builds_the_student_book_into_build_html_and_solutions_apart():
    book = dry("book")
    assert any("release --out _release --book" in ln for ln in book)
    assert any("rm -rf _build/html" in ln for ln in book)
    build = [ln for ln in book if "jupyter-book build" in ln]
    assert len(build) == 1 and "_release/student-book --path-output . " in build[0] and " -W " in build[0]
    assert not any("execute_book" in ln for ln in book)
    solutions = [ln for ln in dry("book-solutions") if "jupyter-book build" in ln]
    assert len(solutions) == 1 and "_release/instructor-book --path-output _build/solutions" in solutions[0]
    # and `make test` builds the site it tests (read, not dry-run: make runs a $(MAKE) line even with -n)
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) --no-print-directory book" in recipe


def test_the_test_and_book_tools_come_with_the_instructor_targets():
    for target in ("book", "book-solutions", "test-fast", "test-browser"):
        assert any('-e ".[lab,test,book,hub]"' in ln for ln in dry(target)), target


def test_pyproject_licence_is_spdx_and_the_lab_extra_is_lean():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert any(r.startswith("setuptools>=77") for r in meta["build-system"]["requires"])
    lab = " ".join(meta["project"]["optional-dependencies"]["lab"])
    for tool in ("pytest", "nbval", "playwright", "jupyter-book", "hypothesis"):
        assert tool not in lab


def test_building_the_editable_package_prints_no_warning(tmp_path):
    """What `make setup`'s `pip install -e .` builds, built here without pip (same setuptools hooks)."""
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.build_editable(sys.argv[1]))")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Warning" not in proc.stderr and "!!" not in proc.stderr, proc.stderr[-3000:]
