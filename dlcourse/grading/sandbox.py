"""Run the grading runner on one notebook in a sandbox, with limits.

With bubblewrap (Debian's ``bubblewrap``): no network, a read-only view of the system, of
Python and of the ``dlcourse`` package only (not the course repository: no instructor
notebooks), the one submitted notebook, a private ``/tmp``; new PID, IPC and UTS
namespaces; killed with the grader. Everywhere: limits on CPU time, memory, file size and
number of processes (a pids cgroup when running as root, where RLIMIT_NPROC does not
apply), a time limit per cell inside the runner and a wall-clock limit on the whole run.

Without bubblewrap the runner still gets the limits, but not the isolation: the grader
says so loudly.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import dlcourse


@dataclass(frozen=True)
class Limits:
    total_seconds: float = 120.0
    cell_seconds: int = 30
    cpu_seconds: int = 240
    memory_mb: int = 4096
    max_processes: int = 64
    max_file_mb: int = 50


@dataclass
class RunResult:
    returncode: int | None
    output: bytes
    timed_out: bool
    seconds: float
    sandboxed: bool


def have_bubblewrap() -> bool:
    path = shutil.which("bwrap")
    if not path:
        return False
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True)
    return probe.returncode == 0


class NoSandboxWarning(UserWarning):
    pass


def _python_roots() -> list[str]:
    """Folders the sandboxed interpreter needs: the venv, the base Python, and dlcourse itself."""
    roots = {sys.prefix, sys.base_prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))),
             os.path.dirname(os.path.abspath(dlcourse.__file__))}
    return sorted(r for r in roots if r and os.path.exists(r))


def bwrap_command(binds: dict) -> list[str]:
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--setenv", "HOME", "/tmp", "--setenv", "MPLBACKEND", "Agg", "--setenv", "PATH", "/usr/bin:/bin",
           "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "OMP_NUM_THREADS", "1",
           "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for link in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    for etc in ("/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    for root in _python_roots():
        cmd += ["--ro-bind", root, root]
    for outside, inside in binds.items():
        cmd += ["--ro-bind", str(outside), inside]
    cmd += ["--chdir", "/tmp"]
    return cmd


def _limit(limits: Limits, pids_cgroup: str | None):
    def apply() -> None:
        os.setsid()
        if pids_cgroup:
            with open(os.path.join(pids_cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20, limits.memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_mb << 20, limits.max_file_mb << 20))
        if os.getuid() != 0:
            running = sum(1 for p in os.listdir("/proc") if p.isdigit())
            n = running + limits.max_processes
            resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
    return apply


def _pids_cgroup(limits: Limits) -> str | None:
    """A fresh pids cgroup (cgroup v1 or v2) limiting the sandbox's processes, when we may create one."""
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(base, "pids.max")) or os.path.exists(os.path.join(base, "cgroup.procs")):
            path = os.path.join(base, f"dlcourse-{uuid.uuid4().hex[:12]}")
            try:
                os.mkdir(path)
                with open(os.path.join(path, "pids.max"), "w") as f:
                    f.write(str(limits.max_processes))
                return path
            except OSError:
                try:
                    os.rmdir(path)
                except OSError:
                    pass
    return None


def _kill_cgroup(path: str | None) -> None:
    if not path:
        return
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            for pid in f.read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.05)
    except OSError:
        pass


def run_notebooks(job: dict, notebooks: list[Path], limits: Limits, use_sandbox: bool | None = None) -> RunResult:
    """Run the runner on ``notebooks`` (``job["notebooks"][k]`` describes notebook k); return its JSON output."""
    import json

    sandboxed = have_bubblewrap() if use_sandbox is None else use_sandbox
    binds = {nb.resolve(): f"/submission/notebook{k}.ipynb" for k, nb in enumerate(notebooks)}
    for k, nb in enumerate(notebooks):
        job["notebooks"][k]["path"] = binds[nb.resolve()] if sandboxed else str(nb.resolve())
    job_json = json.dumps(job)
    runner = [sys.executable, "-I", "-m", "dlcourse.grading.runner"] if not sandboxed else \
        [sys.executable, "-m", "dlcourse.grading.runner"]
    if sandboxed:
        cmd = bwrap_command(binds) + runner
        env = None
    else:
        warnings.warn("bubblewrap (bwrap) is not available: submissions run WITHOUT isolation, with resource "
                      "limits only. Install it with `apt-get install bubblewrap`.", NoSandboxWarning, stacklevel=2)
        cmd = runner
        env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), "MPLBACKEND": "Agg",
               "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(dlcourse.__file__)))}
    cgroup = _pids_cgroup(limits) if os.getuid() == 0 else None
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as cwd:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=cwd, env=env, preexec_fn=_limit(limits, cgroup))
        try:
            out, _ = proc.communicate(job_json.encode() + b"\n", timeout=limits.total_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _kill_cgroup(cgroup)
            out, _ = proc.communicate()
        finally:
            _kill_cgroup(cgroup)
    return RunResult(proc.returncode, out, timed_out, time.perf_counter() - start, sandboxed)
