"""``python -m dlcourse release --git DIR``: the student workspace as a git repository.

A class on a JupyterHub gets its notebooks with nbgitpuller links: the hub pulls a git repository into
each student's home, and pulls it again whenever the student clicks the link, merging the
instructor's new commits with the student's edits (nbgitpuller keeps the student's version of every
line both touched). This module writes that repository:

- ``units/NN-topic/*.ipynb`` and ``course/bibliography.md``: the same content as a ``make lab`` workspace
  (:func:`dlcourse.workspace.workspace_files`: solutions stubbed, outputs that depend on them cleared, no test
  markers), at the same paths as in the course repository and the book, so that the book's launch buttons find
  them; each notebook starts with a guarded cell that installs ``dlcourse`` where it is missing (Colab);
- ``dlcourse/`` and ``pyproject.toml``: the course package, so that ``pip install .`` (or
  ``pip install git+URL``, as the notebooks' first cell does on Colab) installs what the notebooks import;
- ``requirements.txt``, ``binder/requirements.txt`` and ``binder/postBuild``: what a hub image or
  Binder builds from (the pinned course environment, then the package).

Run it again after changing the course and it commits the difference as one new commit: unchanged
notebooks are written byte for byte the same, so a student's pull brings only what changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.records import MARKER, PROGRESS_FILE
from .release import ReleaseError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FILES = ("pyproject.toml", "LICENSE")
# Lines of the lock that a hub or Binder image does not need (tests, book building).
BUILD_ONLY = ("pytest", "hypothesis", "nbval", "playwright", "jupyter-book", "jupyter_book", "sphinx", "execnet",
              "nbgrader", "jupyterhub", "nbgitpuller")
POSTBUILD = """#!/bin/bash
# Binder and hub images: install the course package (its dependencies come from requirements.txt).
set -e
pip install --no-deps --quiet .
"""
README = """# {title}: student notebooks

Open the notebooks in `units/`: each exercise cell raises `NotImplementedError` until you write your code;
the cell after it checks your function and explains what is wrong.

On a JupyterHub your instructor shares an nbgitpuller link: clicking it again later brings new and updated
notebooks and keeps your own edits. On your own machine: `pip install -r requirements.txt && pip install .`,
then `jupyter lab units`.
"""


@dataclass
class RepoReport:
    path: Path
    notebooks: list = field(default_factory=list)
    commit: str | None = None
    changed: list = field(default_factory=list)

    def __str__(self) -> str:
        if self.commit is None:
            return f"{self.path}: already up to date ({len(self.notebooks)} notebooks)"
        return (f"{self.path}: commit {self.commit[:10]} with {len(self.notebooks)} notebooks; "
                f"{len(self.changed)} file(s) changed")


def install_url(root: Path = ROOT) -> str | None:
    """``git+URL`` of the student repository named by ``repository.url`` in the book's ``_config.yml``."""
    config = Path(root) / "_config.yml"
    if not config.exists():
        return None
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", config.read_text(), flags=re.MULTILINE)
    return f"git+{match.group(1)}" if match else None


def _git(repo: Path, *args: str) -> str:
    env = os.environ | {"GIT_AUTHOR_NAME": "dlcourse release", "GIT_AUTHOR_EMAIL": "release@dlcourse.invalid",
                        "GIT_COMMITTER_NAME": "dlcourse release", "GIT_COMMITTER_EMAIL": "release@dlcourse.invalid"}
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def requirements(lock: Path) -> str:
    """The pinned course environment for a hub or Binder image: the lock less test and book tools.

    PyPI's default torch wheel for Linux is the multi-GB CUDA build; the CPU index keeps an image small.
    """
    keep = [line for line in lock.read_text().splitlines()
            if line.strip() and not line.startswith("#") and not line.lower().startswith(BUILD_ONLY)]
    return ("# The course environment (generated from requirements/course.lock by `dlcourse release --git`).\n"
            "--extra-index-url https://download.pytorch.org/whl/cpu\n" + "\n".join(keep) + "\n")


def student_files(root: Path = ROOT, source: Path | None = None, install_from: str | None = None) -> dict:
    """Every file of the student repository: ``{relative path: bytes}``.

    ``install_from`` is the repository's address (``git+https://...``); each student notebook then starts with
    a guarded cell that installs ``dlcourse`` from it where it is missing (Colab).
    """
    from ..workspace import workspace_files

    root = Path(root)
    source = Path(source) if source is not None else root / "units"
    files = {rel: text.encode() for rel, text in workspace_files(source, install_from)}
    for pkg_file in sorted((root / "dlcourse").rglob("*")):
        if pkg_file.is_file() and "__pycache__" not in pkg_file.parts and pkg_file.suffix != ".pyc":
            files[pkg_file.relative_to(root).as_posix()] = pkg_file.read_bytes()
    for name in PACKAGE_FILES:
        if (root / name).exists():
            files[name] = (root / name).read_bytes()
    reqs = requirements(root / "requirements" / "course.lock").encode()
    files["requirements.txt"] = reqs
    files["binder/requirements.txt"] = reqs
    files["binder/postBuild"] = POSTBUILD.encode()
    files["README.md"] = README.format(title="dlcourse").encode()
    # The workspace's marker, so that each check's result is remembered in the student's clone (progress()).
    files[MARKER] = (json.dumps({"format": 1, "course": "dlcourse", "notebooks": {}}, indent=1) + "\n").encode()
    files[".gitignore"] = f".ipynb_checkpoints/\n__pycache__/\n*.egg-info/\n{PROGRESS_FILE}\n".encode()
    return files


def write_student_repo(dest: Path, root: Path = ROOT, source: Path | None = None, branch: str = "main",
                       install_from: str | None = None) -> RepoReport:
    """Write (or update, as one new commit) the student repository at ``dest``.

    ``dest`` is created as a git repository on ``branch`` if it does not exist. An existing one must be a
    git repository made by this command: files it tracks that the course no longer has are removed, new
    and changed files written, and everything committed. Nothing is committed when nothing changed.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"--git must name a folder, got the file {dest}")
    if dest.resolve() == Path(root).resolve() or Path(root).resolve() in dest.resolve().parents:
        raise ValueError(f"--git must be outside the course folder {root}, got {dest}")
    files = student_files(root, source, install_from)
    if not (dest / ".git").exists():
        if dest.exists() and any(dest.iterdir()):
            raise ValueError(f"--git {dest} exists and is not a git repository: name a new or empty folder, "
                             "or a repository written by `dlcourse release --git`")
        dest.mkdir(parents=True, exist_ok=True)
        _git(dest, "init", "--quiet", f"--initial-branch={branch}")
    for tracked in _git(dest, "ls-files", "-z").split("\0"):
        if tracked and tracked not in files:
            (dest / tracked).unlink(missing_ok=True)
    for rel, content in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
    (dest / "binder" / "postBuild").chmod(0o755)
    _git(dest, "add", "--all")
    changed = [ln[3:] for ln in _git(dest, "status", "--porcelain").splitlines()]
    report = RepoReport(dest, sorted(r for r in files if r.endswith(".ipynb")), changed=changed)
    if changed:
        _git(dest, "commit", "--quiet", "-m", f"Course update: {len(changed)} file(s)")
        report.commit = _git(dest, "rev-parse", "HEAD").strip()
    return report
