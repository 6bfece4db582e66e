r"""Progress that remembers: each ``check()`` writes its result into the student's workspace.

The results live in one small JSON file, ``.dlcourse-progress.json``, at the top of the workspace that ``make lab``
creates (:mod:`dlcourse.workspace`). A kernel finds the workspace from its notebook's folder: the variable
``DLCOURSE_WORKSPACE`` when set, else the nearest folder at or above the current one that holds the workspace's
manifest ``.dlcourse-workspace.json``. So a check run in 1.2 shows in ``progress()`` of 1.4, in another kernel,
the next day.

Recording never raises: an unwritable or missing workspace, a corrupt file, a full disk — the check's result is
shown as always and simply not remembered. It is off when ``DLCOURSE_GRADING=1`` (the grader sets it: a graded run
must not write into anyone's workspace). ``reset(unit)`` forgets results (all, or one unit's).

The file::

    {"format": 1, "results": {"1.3": {"status": "passed", "time": "2026-12-07T10:31:02.417311Z",
                                      "notebook": "01-backprop/1.2-activations.ipynb"}}}
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

MARKER = ".dlcourse-workspace.json"      # the workspace's manifest (written by dlcourse.workspace)
ENV_VAR = "DLCOURSE_WORKSPACE"
PROGRESS_FILE = ".dlcourse-progress.json"
GRADING_VAR = "DLCOURSE_GRADING"
FORMAT = 1


def find_workspace(start: Path | str | None = None) -> Path | None:
    """The workspace a notebook runs in: ``$DLCOURSE_WORKSPACE`` if set, else the nearest folder at or above
    ``start`` (default: the current folder, which is a notebook's own) holding the manifest; ``None`` if none."""
    env = os.environ.get(ENV_VAR)
    try:
        if env:
            return Path(env).expanduser().resolve()
        here = Path(start if start is not None else os.getcwd()).resolve()
    except (OSError, RuntimeError):
        return None
    for folder in (here, *here.parents):
        try:
            if (folder / MARKER).is_file():
                return folder
        except OSError:
            return None
    return None


def enabled() -> bool:
    return os.environ.get(GRADING_VAR, "").strip() not in ("1", "true", "True", "yes")


def progress_file(start=None) -> Path | None:
    """Where results are remembered, or ``None`` (no workspace, or grading)."""
    if not enabled():
        return None
    ws = find_workspace(start)
    return ws / PROGRESS_FILE if ws is not None else None


def load(path: Path | None = None) -> dict:
    """``{exercise id: {"status", "time", ...}}`` from the progress file; ``{}`` when there is none or it is bad."""
    path = progress_file() if path is None else Path(path)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data["results"]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return {}
    if not isinstance(results, dict):
        return {}
    return {str(k): v for k, v in results.items()
            if isinstance(v, dict) and isinstance(v.get("status"), str)}


@contextmanager
def _locked(path: Path):
    """An exclusive lock beside the file, so that two kernels checking at once lose neither result."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass                                  # no flock (Windows, some network drives): last writer wins
        yield
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it over: never a half-written file, and a
    symlink at ``path`` is replaced, never written through (also the workspace's writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dlcourse-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write(path: Path, results: dict) -> None:
    atomic_write(path, json.dumps({"format": FORMAT, "results": results}, indent=1, sort_keys=True) + "\n")


def now() -> str:
    # Microseconds: two kernels' checks within one second are still ordered (the later one wins).
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(exercise_id: str, status: str, path: Path | None = None) -> bool:
    """Remember ``status`` for ``exercise_id``; ``True`` when written. Never raises."""
    try:
        path = progress_file() if path is None else Path(path)
        if path is None:
            return False
        entry = {"status": str(status), "time": now()}
        notebook = os.environ.get("JPY_SESSION_NAME")    # set by Jupyter Server for a notebook's kernel
        if notebook:
            try:
                notebook = Path(notebook).resolve().relative_to(path.parent.resolve()).as_posix()
            except (ValueError, OSError):
                notebook = Path(notebook).name
            entry["notebook"] = notebook
        with _locked(path):
            results = load(path)
            results[str(exercise_id)] = entry
            _write(path, results)
        return True
    except Exception:  # noqa: BLE001 - remembering progress must never break a check
        return False


def reset(unit: int | None = None, path: Path | None = None) -> int:
    """Forget the remembered results (of one ``unit``, or all); returns how many were forgotten. Never raises."""
    try:
        path = progress_file() if path is None else Path(path)
        if path is None or not path.exists():
            return 0
        with _locked(path):
            results = load(path)
            keep = {} if unit is None else {k: v for k, v in results.items() if k.split(".")[0] != str(unit)}
            _write(path, keep)
        return len(results) - len(keep)
    except Exception:  # noqa: BLE001
        return 0
