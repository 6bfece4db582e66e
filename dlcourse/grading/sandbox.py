"""Start the grading runner on one notebook in a sandbox, with limits, and read what it reports.

With bubblewrap (Debian's ``bubblewrap``) the runner sees: a read-only system (``/usr``, ``/lib``, a few files of
``/etc``), the base Python's standard library, the *view* of ``dlcourse`` (see :mod:`dlcourse.grading.library`:
the checking harness, every other function body removed) at ``/grader/lib``, the allowed third-party packages of
the grader's environment one by one at ``/grader/site`` (not PyTorch, not SciPy, not scikit-learn, not the
editable install that points at the course repository), the one submitted notebook, and a private empty
``/tmp``. No network, new PID/IPC/UTS namespaces, killed with the grader. The course repository, the instructor
notebooks, other submissions and the output folder are not there.

Everywhere: limits on CPU time, memory, file size and number of processes (a pids cgroup when running as root,
where RLIMIT_NPROC does not apply), a time limit per cell and per graded call inside the runner, and wall-clock
deadlines enforced here, outside.

Without bubblewrap (``--no-sandbox``) the runner gets the same view of the package and the same limits, but no
file-system or network isolation: the grader refuses to run that way unless asked.
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_BWRAP = "sudo apt-get install bubblewrap"
# Third-party packages graded code must not have: they implement what the exercises ask (or reach the course).
ABSENT_PACKAGES = ("torch", "torchgen", "functorch", "triton", "nvidia", "scipy", "sklearn", "jax", "jaxlib",
                   "tensorflow", "keras", "dlcourse", "__editable__")
LIB, SITE = "/grader/lib", "/grader/site"
BOOT = ("import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:]; "
        "from dlcourse.grading.runner import main; main()")
MAX_OUTPUT = 256 << 20


@dataclass(frozen=True)
class Limits:
    """Limits of one notebook's run. ``total_seconds`` bounds the cells; each graded call gets ``call_seconds``."""

    total_seconds: float = 120.0
    cell_seconds: int = 30
    call_seconds: float = 10.0
    cpu_seconds: int = 600
    memory_mb: int = 4096
    max_processes: int = 64
    max_file_mb: int = 50

    def __post_init__(self):
        for name in ("total_seconds", "cell_seconds", "call_seconds", "cpu_seconds", "memory_mb", "max_processes",
                     "max_file_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass
class Run:
    """What one run of the runner reported: its JSON lines in order, and how it ended."""

    lines: list = field(default_factory=list)
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0


def have_bubblewrap() -> bool:
    path = shutil.which("bwrap")
    if not path:
        return False
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True)
    return probe.returncode == 0


def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot be used here (with the fix), or None when it works."""
    path = shutil.which("bwrap")
    if not path:
        return f"bubblewrap is not installed: install it with `{INSTALL_BWRAP}`"
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return (f"bubblewrap cannot create a sandbox on this machine ({probe.stderr.strip()}); in a container, allow "
                f"user namespaces (e.g. docker run --security-opt seccomp=unconfined)")
    return None


def site_entries() -> dict[str, Path]:
    """The grader's third-party packages graded code may import: ``{name: path}`` (see ABSENT_PACKAGES)."""
    entries = {}
    for folder in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for p in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
            name = p.name
            if name.endswith(".pth") or name.startswith(ABSENT_PACKAGES) or name == "__pycache__":
                continue
            entries.setdefault(name, p)
    return entries


def base_python() -> Path:
    """The real interpreter behind the grader's (a virtual environment's python is a link to it)."""
    return Path(os.path.realpath(sys.executable))


def _no_sandbox_site(entries: dict) -> Path:
    """A folder of links to the allowed packages, for runs without bubblewrap (made once per process)."""
    global _LINKS
    if _LINKS is None:
        _LINKS = Path(tempfile.mkdtemp(prefix="dlcourse-site-"))
        import atexit

        atexit.register(shutil.rmtree, _LINKS, True)
        for name, path in entries.items():
            (_LINKS / name).symlink_to(path)
    return _LINKS


_LINKS: Path | None = None


def bwrap_command(view: Path, notebook: Path, entries: dict) -> list[str]:
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for link in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    for etc in ("/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/"):
        cmd += ["--ro-bind", prefix, prefix]
    cmd += ["--ro-bind", str(view), LIB]
    for name, path in entries.items():
        cmd += ["--ro-bind", str(path), f"{SITE}/{name}"]
    cmd += ["--ro-bind", str(notebook), "/submission/notebook.ipynb", "--chdir", "/tmp"]
    for key, value in (sandbox_env("/tmp") | {"DLCOURSE_SANDBOX": "bwrap"}).items():
        cmd += ["--setenv", key, value]
    return cmd


def sandbox_env(home: str) -> dict:
    return {"HOME": home, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/matplotlib",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "DLCOURSE_HEADLESS": "1", "DLCOURSE_GRADING": "1", "PYTHONHASHSEED": "0"}


def runner_command(view: Path, notebook: Path, sandboxed: bool) -> tuple[list[str], dict | None, str]:
    """The command, its environment and the notebook's path as the runner sees it."""
    entries = site_entries()
    if sandboxed:
        cmd = bwrap_command(view, notebook, entries) + [str(base_python()), "-I", "-S", "-c", BOOT, LIB, SITE]
        return cmd, None, "/submission/notebook.ipynb"
    home = tempfile.mkdtemp(prefix="dlcourse-home-")
    cmd = [str(base_python()), "-I", "-S", "-c", BOOT, str(view), str(_no_sandbox_site(entries))]
    return cmd, sandbox_env(home), str(notebook)


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


def _parse(raw: bytes) -> dict | None:
    try:
        line = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return line if isinstance(line, dict) else None


def run_notebook(job: dict, notebook: Path, view: Path, limits: Limits, sandboxed: bool, deadline) -> Run:
    """Run the runner on ``notebook`` with ``job``; ``deadline(lines)`` says until when (monotonic) it may run.

    The deadline is asked again after every line, so it can grow as the runner reaches its next phase (cells, then
    each exercise). When it passes, the runner and everything it started is killed.
    """
    cmd, env, inside_path = runner_command(view, notebook, sandboxed)
    payload = json.dumps(job | {"path": inside_path}).encode() + b"\n"
    cgroup = _pids_cgroup(limits) if os.getuid() == 0 else None
    run, start = Run(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as cwd, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=cwd, env=env,
                                preexec_fn=_limit(limits, cgroup))
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        buffer, total, fd = b"", 0, proc.stdout.fileno()
        while True:
            remaining = deadline(run.lines) - time.monotonic()
            if remaining <= 0:
                run.timed_out = True
                break
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            run.lines += [line for raw in complete if (line := _parse(raw)) is not None]
            if total > MAX_OUTPUT:
                run.timed_out = True
                break
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _kill_cgroup(cgroup)
        proc.stdout.close()
        run.returncode = proc.wait()
        err.seek(0)
        run.stderr = err.read(20000).decode(errors="replace")
        if env:
            shutil.rmtree(env["HOME"], ignore_errors=True)
    run.seconds = time.monotonic() - start
    return run
