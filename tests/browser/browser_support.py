"""Helpers shared by the browser tests (see conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("DLCOURSE_CHROMIUM", "/usr/bin/chromium")
# Headless, as root (no sandbox), and quiet: no background requests to Google's services.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--disable-sync", "--disable-quic", "--disable-default-apps", "--mute-audio"]


def unavailable(reason: str):
    """Skip with the reason, or fail when running on CI (the CI environment variable is set)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(reason)


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class Timings:
    """Wall-clock time of a browser test module, in tests/_artifacts/browser-timings-<name>.json (one file per
    module, so that two pytest-xdist workers never write the same file)."""

    @staticmethod
    def record(name: str, seconds: float, **extra) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        data = {"seconds": round(seconds, 1), **extra, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        (ARTIFACTS / f"browser-timings-{name}.json").write_text(json.dumps(data, indent=1))
