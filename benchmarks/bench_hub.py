"""Sizing a JupyterHub for the course: what one student's kernel needs, unit by unit.

Each notebook of a unit runs in a fresh kernel (as a student runs it: top to bottom); a last cell reads the
kernel's own peak resident memory (``VmHWM``) and CPU time (``resource.getrusage``). A unit's row is the largest peak
over its notebooks (what a per-user memory limit must allow) and the CPU seconds of all its notebooks
(what one student's pass through the unit costs a node). Peak memory and CPU time, unlike wall-clock time,
hardly depend on what else the machine is doing.

The work is verified before a number is reported: every notebook must execute without an error and the
measuring cell must answer; otherwise the row fails with the reason. Targets: a peak within the 2 GiB
per-user limit the instructor guide recommends (with headroom: ≤ 1.5 GiB), and a unit's CPU time ≤ 120 s.

    python benchmarks/bench_hub.py            # prints the rows
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_TARGET_MB = 1536
CPU_TARGET_S = 120.0
# The kernel's own peak: VmHWM of /proc/self/status (getrusage's ru_maxrss survives execve, so it would report the
# larger of the kernel's peak and that of the process that started it).
MEASURE = ("import resource, json\n"
           "_r = resource.getrusage(resource.RUSAGE_SELF)\n"
           "_hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
           "print(json.dumps({'peak_mb': _hwm / 1024, 'cpu_s': _r.ru_utime + _r.ru_stime}))")


def kernel_usage(path: Path, timeout: int = 600) -> dict:
    """Run one notebook in a fresh kernel; return its ``peak_mb`` and ``cpu_s`` (raises if a cell fails)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE))
    env_before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                       ).execute()
    finally:
        if env_before is None:
            os.environ.pop("TQDM_DISABLE", None)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])


def unit_rows(unit_dir: Path, measure=kernel_usage) -> list[dict]:
    """Two rows for a unit: the peak memory of its heaviest notebook and the CPU seconds of all of them."""
    notebooks = sorted(p for p in unit_dir.glob("*.ipynb"))
    label = unit_dir.name
    try:
        if not notebooks:
            raise ValueError(f"no notebooks in {unit_dir}")
        usage = {p.name: measure(p) for p in notebooks}
    except Exception as exc:  # noqa: BLE001 - a failed run is a failed row, with its reason
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        return [{"name": f"hub sizing {label}: FAILED ({reason[:200]})", "value": float("nan"), "unit": "MB",
                 "target": MEMORY_TARGET_MB, "ok": False}]
    heaviest = max(usage, key=lambda n: usage[n]["peak_mb"])
    peak = usage[heaviest]["peak_mb"]
    cpu = sum(u["cpu_s"] for u in usage.values())
    return [
        {"name": f"hub sizing {label}: peak kernel memory ({heaviest})", "value": round(peak, 1), "unit": "MB",
         "target": MEMORY_TARGET_MB, "ok": peak <= MEMORY_TARGET_MB},
        {"name": f"hub sizing {label}: kernel CPU time, all {len(usage)} notebooks", "value": round(cpu, 1),
         "unit": "s", "target": CPU_TARGET_S, "ok": cpu <= CPU_TARGET_S},
    ]


def bench_hub_sizing() -> list[dict]:
    rows = []
    for unit_dir in sorted((ROOT / "units").iterdir()):
        if unit_dir.is_dir():
            rows += unit_rows(unit_dir)
    return rows


BENCHMARKS = {"hub sizing": bench_hub_sizing}


if __name__ == "__main__":
    units = sys.argv[1:] or [p.name for p in sorted((ROOT / "units").iterdir()) if p.is_dir()]
    for u in units:
        for r in unit_rows(ROOT / "units" / u):
            print(f"{r['name']:<80} {r['value']:>8} {r['unit']:<3} (target {r['target']}) {'ok' if r['ok'] else 'FAIL'}")
