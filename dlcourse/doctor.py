"""``python -m dlcourse doctor``: check that a student's environment can run the course.

One line per check; every failure says how to fix it. Exit code 0 only when all pass.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "course.lock"
KEY_PACKAGES = ["numpy", "matplotlib", "ipywidgets", "scikit-learn", "torch", "jupyterlab",
                "jupyterlab_widgets", "ipykernel", "nbval", "tqdm"]
FIX_ENV = "run `make setup` in the course folder (or `pip install -c requirements/course.lock -e .[lab,test,book]`)"


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    fix: str = ""


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


def check_versions(lock: Path = LOCK) -> Check:
    if not lock.exists():
        return Check("package versions", True, "skipped: no requirements/course.lock beside this installation")
    pins = read_pins(lock)
    wrong = []
    for pkg in KEY_PACKAGES:
        want = pins.get(_norm(pkg))
        try:
            have = md.version(pkg).split("+")[0]
        except md.PackageNotFoundError:
            wrong.append(f"{pkg} missing (want {want})")
            continue
        if want and have != want:
            wrong.append(f"{pkg} {have} (pinned {want})")
    if wrong:
        return Check("package versions", False, "; ".join(wrong), FIX_ENV)
    return Check("package versions", True, f"{len(KEY_PACKAGES)} key packages match {lock.name}")


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


CHECKS: list[Callable[[], Check]] = [check_python, check_versions, check_widgets_extension, check_torch,
                                     check_datasets, check_matplotlib_cache, check_kernel]


def run(out=sys.stdout) -> int:
    failures = 0
    for fn in CHECKS:
        try:
            c = fn()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
            c = Check(fn.__name__.removeprefix("check_").replace("_", " "), False,
                      f"{type(exc).__name__}: {exc}", FIX_ENV)
        failures += not c.ok
        mark = "ok  " if c.ok else "FAIL"
        print(f"[{mark}] {c.name}: {c.detail}" + ("" if c.ok else f"\n       fix: {c.fix}"), file=out)
    print("all checks passed — you are ready for the course" if not failures
          else f"{failures} check(s) failed — fix them, then run `python -m dlcourse doctor` again", file=out)
    return 0 if not failures else 1
