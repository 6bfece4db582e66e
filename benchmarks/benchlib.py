"""What every benchmark module shares with ``benchmarks/run.py``: rows, and the two ways a row can end without a time.

A benchmark function returns a list of rows made with :func:`row` (a measured time that verified its work),
:func:`failed_row` or :func:`not_run_row`, or raises :class:`Failed` / :class:`NotRun` for the whole group.
"""

from __future__ import annotations

import math
import numbers

STATUSES = ("measured", "failed", "not run")


class Failed(Exception):
    """The benchmark's work did not verify (a crash, a wrong result, a picture that did not change): no time."""


class NotRun(Exception):
    """A prerequisite is missing (the built site, Chromium, bubblewrap): reported as "not run", unless asked for."""


def row(name: str, value: float, unit: str, target: float, reached: dict | None = None) -> dict:
    """A measured row: ``value`` (in ``unit``) against its upper bound ``target``.

    ``reached`` is what the timed work achieved, for rows whose work has a quality of its own (a training run's
    accuracy or loss): ``{"what": "test accuracy", "value": 0.93, "target": 0.9, "better": "higher"}``
    (``better`` is ``"higher"`` or ``"lower"``). A row whose ``reached`` misses its target is reported as failed.
    """
    r = {"name": name, "value": round(float(value), 4), "unit": unit, "target": target, "ok": value <= target,
         "status": "measured"}
    if reached is not None:
        r["reached"] = dict(reached)
    return normalize(r)


def failed_row(name: str, reason: str, unit: str = "", target: float | None = None) -> dict:
    return {"name": name, "value": None, "unit": unit, "target": target, "ok": False, "status": "failed",
            "reason": str(reason)}


def not_run_row(name: str, reason: str) -> dict:
    return {"name": name, "value": None, "unit": "", "target": None, "ok": False, "status": "not run",
            "reason": str(reason)}


def _real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def reached_text(reached: dict) -> str:
    sign = "≥" if reached.get("better", "higher") == "higher" else "≤"
    return f"{reached['what']} {reached['value']:.4g} (target {sign} {reached['target']:g})"


def normalize(r) -> dict:
    """Check a row from any benchmark module; a malformed or unverified one becomes a failed row saying why."""
    if not isinstance(r, dict) or not isinstance(r.get("name"), str):
        return failed_row(str(r)[:80], f"malformed row (expected a dict with a 'name'): {r!r}"[:300])
    status = r.get("status", "measured")
    if status not in STATUSES:
        return failed_row(r["name"], f"malformed row: status must be one of {STATUSES}, got {status!r}")
    if status != "measured":
        return {**r, "value": None, "ok": False, "reason": str(r.get("reason") or "no reason given")}
    for key in ("value", "target"):
        if not _real(r.get(key)):
            return failed_row(r["name"], f"malformed row: {key} must be a finite number, got {r.get(key)!r}",
                              str(r.get("unit", "")), r.get("target") if _real(r.get("target")) else None)
    out = {**r, "status": "measured", "ok": r["value"] <= r["target"] and r.get("ok", True) is not False}
    reached = r.get("reached")
    if reached is not None:
        if not (isinstance(reached, dict) and isinstance(reached.get("what"), str) and _real(reached.get("value"))
                and _real(reached.get("target")) and reached.get("better", "higher") in ("higher", "lower")):
            return failed_row(r["name"], f"malformed row: 'reached' must be {{what, value, target, better}} with "
                              f"finite numbers, got {reached!r}", r.get("unit", ""), r["target"])
        good = (reached["value"] >= reached["target"] if reached.get("better", "higher") == "higher"
                else reached["value"] <= reached["target"])
        if not good:
            return {**failed_row(r["name"], f"the timed work missed its own target: {reached_text(reached)}",
                                 r.get("unit", ""), r["target"]), "reached": reached}
    return out
