r"""The student workspace: the course's notebooks as a student works on them (``make lab``).

``build_workspace(dest)`` writes the student version of every course notebook (solutions stubbed, the outputs that
came from them cleared, no test markers: :func:`dlcourse.grading.release.student_version`) into ``dest``
(``workspace/`` by default, git-ignored) as ``units/NN-topic/*.ipynb``, beside ``course/bibliography.md`` (which the
notebooks' citations link to), the same layout as the course repository, the book and the student repository. It is safe to run again and again — ``make
lab`` runs it every time — because it never overwrites a student's work:

* a notebook the student has not touched (every cell's text as it was written; running cells, outputs and kernel
  metadata do not count) is updated in place when the course changes;
* a notebook the student edited is kept, and the course's new version is written beside it as
  ``NAME (updated YYYY-MM-DD).ipynb`` (the run says so); each course version is offered once;
* a notebook the student deleted (or renamed) comes back fresh: deleting is how to start a notebook over;
* a new course notebook just appears; a file of the student's that already holds a course notebook's name, a
  read-only notebook, a symlink or an unreadable notebook counts as the student's and is never replaced.

What was written is recorded in ``dest/.dlcourse-workspace.json`` (the manifest: each notebook's fingerprint as
written and as last offered). The manifest is also the marker by which :func:`find_workspace` finds the
workspace from a notebook's folder, so that ``dlcourse.checks.check`` can record progress there.

``python -m dlcourse workspace [--dest DIR] [--source DIR]`` runs it from the command line. ``release --git``
publishes the same content (:func:`student_notebooks`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import nbformat

from .checks.records import ENV_VAR, MARKER, atomic_write, find_workspace  # noqa: F401 - the marker is shared with check()
from .grading.release import ReleaseError, find_leaks, student_version

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "units"
# Files beside the notebooks that their links need (path in the workspace -> path in the course).
COURSE_FILES = {"course/bibliography.md": ROOT / "course" / "bibliography.md"}
DEFAULT_DEST = ROOT / "workspace"
FORMAT = 1


@dataclass
class WorkspaceReport:
    """What one run did, notebook paths relative to the workspace."""

    dest: Path
    created: list = field(default_factory=list)     # new course notebooks (and the whole first run)
    restored: list = field(default_factory=list)    # deleted by the student, written fresh
    updated: list = field(default_factory=list)     # untouched by the student, updated in place
    beside: list = field(default_factory=list)      # (the student's notebook, the new version written beside it)
    kept: list = field(default_factory=list)        # edited by the student, no course change
    unchanged: list = field(default_factory=list)
    errors: list = field(default_factory=list)      # "path: reason" for what could not be written

    def __str__(self) -> str:
        lines = []
        notebooks = [rel for rel in self.created if rel.endswith(".ipynb")]
        if notebooks:
            lines.append(f"{len(notebooks)} new notebook(s) written")
        if self.restored:
            lines.append("written fresh (they had been deleted): " + ", ".join(self.restored))
        if self.updated:
            lines.append("updated in place (you had not edited them): " + ", ".join(self.updated))
        for mine, new in self.beside:
            lines.append(f"the course updated {mine}: your copy is kept, the new version is {new}")
        if not (self.created or self.restored or self.updated or self.beside):
            lines.append("up to date")
        if self.kept:
            lines.append(f"{len(self.kept)} notebook(s) with your edits kept as they are")
        lines += [f"could not write {e}" for e in self.errors]
        return f"your workspace {self.dest}/: " + "\n  ".join(lines)


def student_notebooks(source: Path = UNITS, install_from: str | None = None) -> Iterator[tuple[str, str]]:
    """``(relative path, notebook text)`` of the student version of every notebook under ``source``.

    ``install_from`` (a pip URL) adds the guarded cell that installs ``dlcourse`` where it is missing (the
    student repository's notebooks have it, for Colab; a local workspace does not need it).

    Raises :class:`~dlcourse.grading.release.ReleaseError` when a solution line would survive (the release's leak
    check), so that no workspace (and no published repository) ever holds one.
    """
    source = Path(source)
    for path in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or "_build" in path.parts:
            continue
        rel = path.relative_to(source).as_posix()
        nb, solution, _ = student_version(nbformat.read(path, as_version=4), rel, install_from=install_from)
        leaks = find_leaks("\n".join(c.source for c in nb.cells), solution)
        if leaks:
            raise ReleaseError(f"{rel}: solution text left in the student version: {leaks[:3]}")
        yield rel, nbformat.writes(nb)


def workspace_files(source: Path = UNITS, install_from: str | None = None) -> Iterator[tuple[str, str]]:
    """``(path in the workspace, text)`` of every file a workspace holds: the student notebooks under ``units/``
    and the course files their links need."""
    for rel, text in student_notebooks(source, install_from):
        yield f"units/{rel}", text
    for rel, path in COURSE_FILES.items():
        if path.is_file():
            yield rel, path.read_text(encoding="utf-8")


def fingerprint(text: str, rel: str = "x.ipynb") -> str | None:
    """A file's identity for "has the student edited it". For a notebook: the type and text of its cells, nothing
    else (outputs, execution counts and metadata change when a notebook is merely run); ``None`` when the text is
    not a readable notebook. For any other file: its text.
    """
    if not rel.endswith(".ipynb"):
        return hashlib.sha256(text.encode()).hexdigest()
    try:
        nb = json.loads(text)
        cells = [[c.get("cell_type"), _source(c.get("source", ""))] for c in nb["cells"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _source(src) -> str:
    return "".join(src) if isinstance(src, list) else str(src)


def _file_fingerprint(path: Path) -> str | None:
    try:
        return fingerprint(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError):
        return None


def _students(path: Path) -> bool:
    """A file the student has claimed however it looks: a symlink, not a regular file, or read-only."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode) or not st.st_mode & stat.S_IWUSR


def _write_new(path: Path, text: str) -> None:
    """Create ``path``; fail (``FileExistsError``) rather than replace anything already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)


def _beside_name(rel: str, day: str, dest: Path, text: str) -> tuple[str, bool]:
    """``NAME (updated DAY).ipynb`` (or ``.md``) next to ``rel`` — or ``NAME (updated DAY, 2).ipynb``… when that name is taken
    by something else. Returns the name and whether it already holds exactly this text (nothing to write)."""
    stem, parent, suffix = Path(rel).stem, Path(rel).parent, Path(rel).suffix
    for n in range(1, 1000):
        name = (parent / f"{stem} (updated {day}{'' if n == 1 else f', {n}'}){suffix}").as_posix()
        target = dest / name
        if not os.path.lexists(target):
            return name, False
        try:
            if not _students(target) and target.read_text(encoding="utf-8") == text:
                return name, True
        except (OSError, UnicodeDecodeError):
            pass
    raise OSError(f"no free name beside {rel}")


def _load_manifest(dest: Path) -> dict:
    try:
        data = json.loads((dest / MARKER).read_text(encoding="utf-8"))
        notebooks = data["notebooks"]
        if not isinstance(notebooks, dict):
            raise TypeError
        return {k: v for k, v in notebooks.items() if isinstance(v, dict)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _day(today) -> str:
    if today is None:
        return _dt.date.today().isoformat()
    if isinstance(today, _dt.date):
        return today.isoformat()
    if isinstance(today, str):
        try:
            return _dt.date.fromisoformat(today).isoformat()
        except ValueError:
            pass
    raise ValueError(f"today must be a date or 'YYYY-MM-DD', got {today!r}")


def build_workspace(dest: Path | str = DEFAULT_DEST, source: Path | str = UNITS, today=None) -> WorkspaceReport:
    """Create or refresh the student workspace ``dest`` from the course notebooks under ``source``.

    Never overwrites a student's work (see the module's docstring for each case). ``today`` (a date or
    ``"YYYY-MM-DD"``, default today) names the copies written beside edited notebooks. What cannot be written is
    listed in ``report.errors``; nothing raises for it.
    """
    for name, value in (("dest", dest), ("source", source)):
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a path (str or Path), got {type(value).__name__}")
    dest, source, day = Path(dest), Path(source), _day(today)
    if not source.is_dir():
        raise ValueError(f"source must be a folder of course notebooks, got {source}")
    if dest.resolve() == source.resolve() or source.resolve() in dest.resolve().parents:
        raise ValueError(f"dest must be outside the course folder {source}, got {dest}")
    report = WorkspaceReport(dest)
    notebooks = list(workspace_files(source))
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        report.errors.append(f"{dest}: {exc.strerror or exc}")
        return report
    manifest = _load_manifest(dest)
    for rel, text in notebooks:
        new = fingerprint(text, rel)
        entry = manifest.get(rel)
        target = dest / rel
        try:
            if not os.path.lexists(target):
                _write_new(target, text)
                (report.restored if entry else report.created).append(rel)
                manifest[rel] = {"written": new, "offered": new, "date": day}
                continue
            have = None if _students(target) else _file_fingerprint(target)
            untouched = entry is not None and have is not None and have == entry.get("written")
            if entry is None and have == new:            # the same text, e.g. after a lost manifest: adopt it
                manifest[rel] = {"written": new, "offered": new, "date": day}
                report.unchanged.append(rel)
            elif untouched:
                if new != entry.get("written"):
                    atomic_write(target, text)
                    report.updated.append(rel)
                    manifest[rel] = {"written": new, "offered": new, "date": day}
                else:
                    report.unchanged.append(rel)
            elif entry is not None and entry.get("offered") == new:
                report.kept.append(rel)                  # edited, and this course version was already offered
            else:                                        # edited (or not ours) and the course has something new
                name, present = _beside_name(rel, day, dest, text)
                if not present:
                    _write_new(dest / name, text)
                report.beside.append((rel, name))
                manifest[rel] = {"written": entry.get("written") if entry else None, "offered": new, "date": day}
        except OSError as exc:
            report.errors.append(f"{rel}: {exc.strerror or exc}")
    try:
        atomic_write(dest / MARKER, json.dumps({"format": FORMAT, "course": "dlcourse", "notebooks": manifest},
                                                indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        report.errors.append(f"{MARKER}: {exc.strerror or exc}")
    return report
