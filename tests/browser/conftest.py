"""Browser tests: Playwright's Python package driving Debian's Chromium.

Playwright's own browser download does not work everywhere (not on CI's closed network), so the tests use the
system Chromium (``apt-get install -y chromium``) through ``executable_path``. Without it they are skipped with the
reason — except when the environment variable ``CI`` is set: CI must run them, so there they fail.

Everything the tests write (browser profiles, Jupyter settings, copies of the notebooks, screenshots) goes under
``tests/_artifacts/`` (gitignored); CI keeps ``tests/_artifacts/screenshots``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, fresh_dir, unavailable


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright's Python package is not installed: run `make setup-dev` (`make test` does)")
    tmp = fresh_dir(ARTIFACTS / f"browser-tmp-{os.getpid()}")
    # Playwright's driver makes the browser profile under TMPDIR: keep it in the test's folder.
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)
    try:
        pw = sync_playwright().start()
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
                                      env={**os.environ, "TMPDIR": str(tmp)})
    except Exception as exc:  # a broken Chromium install: say so instead of a long trace
        pw.stop()
        unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    yield chromium
    chromium.close()
    pw.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots():
    """The folder CI keeps; each test module writes its own subfolder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
