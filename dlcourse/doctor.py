"""``python -m dlcourse doctor``: check that a student's environment can run the course.

One line per check; every failure says how to fix it. Exit code 0 only when all pass. The first check is
whether this Python is the course's own environment (``.venv`` of the course folder): run from anywhere else, the
doctor says exactly which command runs it inside (``.venv/bin/python -m dlcourse doctor``, or ``make lab``), and
the other failures point there instead of at ``make setup``.

``python -m dlcourse doctor --instructor`` adds the instructor's tools: bubblewrap (the grader's sandbox, issue 12)
and the test and book tools that ``make test`` / ``make book`` install.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "course.lock"
VENV = ROOT / ".venv"
# What `make lab` installs (the `lab` extra); the instructor's tools are checked by --instructor.
KEY_PACKAGES = ["numpy", "matplotlib", "ipywidgets", "scikit-learn", "torch", "jupyterlab",
                "jupyterlab_widgets", "ipykernel", "tqdm"]
INSTRUCTOR_PACKAGES = ["pytest", "nbval", "playwright", "jupyter-book"]
FIX_ENV = ("run `make lab` (or `make setup`) in the course folder, "
           "then check again with `.venv/bin/python -m dlcourse doctor`")
INSIDE = ".venv/bin/python -m dlcourse doctor"


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _same(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def check_environment(venv: Path = VENV) -> Check:
    """Is this Python the course environment? Outside it, say exactly how to run inside."""
    here = f"this is {sys.executable}"
    if _same(sys.prefix, venv):
        return Check("course environment", True, f"{here}, the course's {venv.name}")
    if venv.is_dir() and (venv / "bin" / "python").exists():
        return Check("course environment", False, f"{here}, not the course environment {venv}",
                     f"run the doctor inside it: `cd {ROOT} && {INSIDE}` (or `make lab`, which also "
                     "opens JupyterLab)")
    try:
        md.version("dlcourse")
    except md.PackageNotFoundError:
        return Check("course environment", False, f"{here}; the course environment {venv} does not exist yet",
                     f"create it: `cd {ROOT} && make lab` (or `make setup`), then run `{INSIDE}`")
    # Installed into some other environment on purpose (a hub image, a library user): that is fine.
    return Check("course environment", True, f"{here}, with dlcourse installed (no {venv.name} in {ROOT})")


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check("Python", ok, f"{v.major}.{v.minor}.{v.micro} at {sys.executable}",
                 "install Python 3.11 or newer and recreate the environment")


def read_pins(lock: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def check_versions(lock: Path = LOCK, packages=None, name: str = "package versions", fix: str = "") -> Check:
    packages = KEY_PACKAGES if packages is None else packages
    if not lock.exists():
        return Check(name, True, "skipped: no requirements/course.lock beside this installation")
    pins = read_pins(lock)
    wrong = []
    for pkg in packages:
        want = pins.get(_norm(pkg))
        try:
            have = md.version(pkg).split("+")[0]
        except md.PackageNotFoundError:
            wrong.append(f"{pkg} missing (want {want})")
            continue
        if want and have != want:
            wrong.append(f"{pkg} {have} (pinned {want})")
    if wrong:
        return Check(name, False, "; ".join(wrong), fix or FIX_ENV)
    return Check(name, True, f"{len(packages)} key packages match {lock.name}")


def check_widgets_extension() -> Check:
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("labextensions"):
        if (Path(base) / "@jupyter-widgets" / "jupyterlab-manager" / "package.json").exists():
            return Check("widgets in JupyterLab", True, f"jupyterlab-manager found in {base}")
    return Check("widgets in JupyterLab", False, "the @jupyter-widgets/jupyterlab-manager extension is missing",
                 "pip install jupyterlab_widgets (in the environment that runs `jupyter lab`), then restart JupyterLab")


def check_torch() -> Check:
    import torch

    t = torch.ones(2, requires_grad=True)
    (t * t).sum().backward()
    ok = bool(t.grad.tolist() == [2.0, 2.0])
    return Check("torch", ok, f"{torch.__version__}, autograd works, CUDA {'available' if torch.cuda.is_available() else 'not needed'}",
                 "pip install torch==2.13.0 (the CPU build)")


def check_datasets() -> Check:
    from .data import load_digits

    X, y = load_digits()
    return Check("bundled datasets", X.shape == (1797, 64), f"digits {X.shape} loaded offline from scikit-learn",
                 "pip install scikit-learn (it ships the digits)")


def check_matplotlib_cache() -> Check:
    import matplotlib

    cache = Path(matplotlib.get_cachedir())
    try:
        with tempfile.NamedTemporaryFile(dir=cache):
            pass
    except OSError as exc:
        return Check("matplotlib cache", False, f"{cache} is not writable ({exc})",
                     "set MPLCONFIGDIR to a writable folder, e.g. export MPLCONFIGDIR=$HOME/.cache/matplotlib")
    return Check("matplotlib cache", True, f"{cache} is writable")


def check_kernel() -> Check:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if "python3" not in specs:
        return Check("Jupyter kernel", False, "no 'python3' kernel", "python -m ipykernel install --sys-prefix")
    return Check("Jupyter kernel", True, f"python3 kernel at {specs['python3']}")


def check_bubblewrap() -> Check:
    """The grader's sandbox (``dlcourse grade``) needs bubblewrap, and a kernel that lets it make namespaces."""
    path = shutil.which("bwrap")
    if not path:
        return Check("bubblewrap", False, "`bwrap` is not installed: `dlcourse grade` would run submissions "
                     "without isolation", "install it: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
                     "`sudo dnf install bubblewrap` (Fedora)")
    try:
        probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        probe = subprocess.CompletedProcess([path], 1, "", str(exc))
    if probe.returncode != 0:
        return Check("bubblewrap", False, f"{path} cannot create a sandbox here: {probe.stderr.strip()[:200]}",
                     "allow unprivileged user namespaces (`sudo sysctl -w kernel.unprivileged_userns_clone=1`), "
                     "or grade on a machine or container that allows them")
    return Check("bubblewrap", True, f"{path} creates a sandbox (no network)")


def check_instructor_tools(lock: Path = LOCK) -> Check:
    return check_versions(lock, INSTRUCTOR_PACKAGES, "instructor tools",
                          "run `make test` or `make book` once (they install the `test` and `book` extras), or "
                          "`.venv/bin/python -m pip install -c requirements/course.lock -e '.[lab,test,book]'`")


CHECKS: list[Callable[[], Check]] = [check_environment, check_python, check_versions, check_widgets_extension,
                                     check_torch, check_datasets, check_matplotlib_cache, check_kernel]
INSTRUCTOR_CHECKS: list[Callable[[], Check]] = [check_bubblewrap, check_instructor_tools]


def run(out=None, instructor: bool = False) -> int:
    out = sys.stdout if out is None else out
    failures, outside = 0, False
    for fn in CHECKS + (INSTRUCTOR_CHECKS if instructor else []):
        try:
            c = fn()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
            c = Check(fn.__name__.removeprefix("check_").replace("_", " "), False,
                      f"{type(exc).__name__}: {exc}", FIX_ENV)
        if fn is check_environment and not c.ok:
            outside = True
        elif outside and not c.ok and fn is not check_bubblewrap:
            # Outside the course environment, a missing package says nothing: point at the first line.
            c = c._replace(fix="you are outside the course environment: see the first line")
        failures += not c.ok
        mark = "ok  " if c.ok else "FAIL"
        print(f"[{mark}] {c.name}: {c.detail}" + ("" if c.ok else f"\n       fix: {c.fix}"), file=out)
    again = f"{INSIDE}{' --instructor' if instructor else ''}"
    print("all checks passed — you are ready for the course" if not failures
          else f"{failures} check(s) failed — fix them, then run `{again}` again", file=out)
    return 0 if not failures else 1
