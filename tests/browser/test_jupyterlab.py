"""The notebooks the way a student uses them: opened in JupyterLab in a real browser, Run All, widgets moved.

Which notebooks: all of them by default. ``DLCOURSE_LAB_NOTEBOOKS=per-unit`` runs one per unit (the one with the
most widget demos) for a quicker look, and a list of patterns such as
``DLCOURSE_LAB_NOTEBOOKS="01-backprop/*,05-cnn-rnn/5.4*"`` runs those (see SELECTION). The others are reported
as skipped, with that reason.

For each, the test opens a copy of the notebook (so nothing is saved over the committed file) in JupyterLab
(the server from ``.venv``, the course's ``python3`` kernel; a browser tab loads JupyterLab once and then opens
one notebook after the other, as a student's file browser does), waits for the kernel to be idle, runs all cells
from the *Run* menu and then checks that

* every code cell ran (an error stops *Run All*, leaving later cells without an execution count),
* no output shows a traceback, and nothing shows "Error displaying widget",
* every widget demo the notebook displays is rendered as a live widget (not the static PNG fallback), and
* for each demo, moving one of its controls (a slider by keyboard, else a dropdown, a text box, a toggle or a
  button) changes the demo's image.

Notebooks run two at a time (two browser tabs, two kernels); each notebook is still its own test and reports
its own problems. Screenshots of each notebook and of each moved demo go to
``tests/_artifacts/screenshots/jupyterlab``; times per notebook to
``tests/_artifacts/browser-timings-jupyterlab.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

from browser_support import ARTIFACTS, ROOT, Timings, fresh_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = sorted(p for p in (ROOT / "units").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# Which notebooks run in JupyterLab: "all" (default), "per-unit" (in each unit, the notebook with the most widget
# demos), or comma-separated patterns relative to units/ such as "01-backprop/1.2*,05-cnn-rnn/*". The others are
# reported as skipped.
SELECTION = os.environ.get("DLCOURSE_LAB_NOTEBOOKS", "all")
RUN_TIMEOUT_S = 240          # one notebook's Run All (each notebook is meant to run in ≤ 30 s)
# Notebooks run side by side in this many browser tabs (each with its own kernel): while one kernel computes,
# the other tab loads JupyterLab or moves widgets. DLCOURSE_LAB_PARALLEL overrides it.
PARALLEL = int(os.environ.get("DLCOURSE_LAB_PARALLEL", "2"))
WIDGET_TIMEOUT_S = 20        # one widget update round trip (kernel compute ≤ 100 ms; a "Run" trains longer)
# How long to wait for a moved slider, dropdown, text or toggle to change the image before trying the next
# control (a late update still counts: the image is compared with the one before the first move).
MOVE_TIMEOUT_S = 4
LAB_DIR = ARTIFACTS / "jupyterlab"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(settings: Path) -> None:
    """User settings: render every cell (no virtual scrolling), never autosave, no news or update checks."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
    }
    for name, value in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class Lab:
    """A JupyterLab server from .venv on 127.0.0.1, with every Jupyter folder inside its own folder.

    ``name`` names that folder (``LAB_DIR`` by default). Each test file that starts a server passes its own: pytest-xdist
    runs test files side by side, and a second server wiping the first one's folder (its notebooks, kernel connection
    files) left every later notebook of the first waiting for a kernel until its timeout.
    """

    def __init__(self, name: str = LAB_DIR.name):
        self.dir = fresh_dir(LAB_DIR.parent / name)
        self.root = self.dir / "root"
        shutil.copytree(ROOT / "units", self.root / "units",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.port, self.token = _free_port(), uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython"),
                         ("MPLCONFIGDIR", "matplotlib"), ("TMPDIR", "tmp")]:
            env[var] = str(self.dir / sub)
            (self.dir / sub).mkdir(exist_ok=True)
        # The widgets extension and the python3 kernel live in .venv/share/jupyter (the sys-prefix data
        # folder), which stays on Jupyter's path whatever JUPYTER_DATA_DIR says.
        env.pop("JUPYTER_PATH", None)
        env.pop("MPLBACKEND", None)   # the kernel's own default (inline), as for a student; CI sets Agg
        _lab_settings(self.dir / "settings")
        page_config = self.dir / "config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True)
        page_config.write_text(json.dumps({"disabledExtensions": {
            "@jupyterlab/apputils-extension:announcements": True}}))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.log_level=WARN"]
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.append("--allow-root")
        self.log = open(self.dir / "server.log", "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start; see {self.dir / 'server.log'}:\n"
                                       + (self.dir / "server.log").read_text()[-3000:])
                time.sleep(0.5)

    def api(self, method: str, path: str):
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def url(self, notebook: Path, workspace: str) -> str:
        rel = notebook.relative_to(ROOT).as_posix()
        return f"{self.base}/lab/workspaces/{workspace}/tree/{rel}?reset&token={self.token}"

    def shutdown_kernel_of(self, notebook: Path) -> None:
        rel = notebook.relative_to(ROOT).as_posix()
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == rel and session.get("kernel"):
                try:
                    self.api("DELETE", f"/api/kernels/{session['kernel']['id']}")
                except urllib.error.URLError:
                    pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def expected_widgets(notebook: Path) -> int:
    """How many widget views the notebook displays, judging by its committed outputs (0 without outputs)."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []) if WIDGET_MIME in out.get("data", {}))


PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

CELL_STATE_JS = """() => [...document.querySelectorAll('%s .jp-Notebook .jp-CodeCell')]
  .map(c => ({prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
              source: (c.querySelector('.jp-InputArea-editor .cm-content') || {}).textContent || ''}))""" % PANEL

OUTPUT_ERRORS_JS = """() => {
  const out = [];
  document.querySelectorAll('%s .jp-OutputArea-output').forEach(o => {
    const t = o.innerText || '';
    if (o.dataset.mimeType === 'application/vnd.jupyter.stderr' &&
        /Traceback \\(most recent call last\\)|^\\s*\\w*(Error|Exception)\\b/m.test(t)) out.push(t.slice(0, 800));
    if (t.includes('Error displaying widget')) out.push('Error displaying widget: ' + t.slice(0, 300));
  });
  return out;
}""" % PANEL

IDLE_JS = ("() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
           ".some(e => e.textContent.includes('| Idle'))")
BUSY_JS = f"() => [...document.querySelectorAll('{PANEL} .jp-InputPrompt')].some(p => p.textContent.includes('*'))"


# The server runs with --LabApp.expose_app_in_browser=True, which makes the application `window.jupyterapp`.
HAS_APP_JS = "() => !!(window.jupyterapp && window.jupyterapp.shell)"
OPEN_JS = "path => { window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'}); }"
CLOSE_ALL_JS = """() => {
  for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
    if (w.context) w.context.model.dirty = false;
    w.dispose();
  }
}"""


def _image_src(widget) -> str:
    return widget.locator("img").first.get_attribute("src") or ""


def _wait_change(page, widget, before: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _image_src(widget) != before:
            return True
        page.wait_for_timeout(100)
    return False


def _move_one_control(page, widget) -> str:
    """Move the controls of one demo, one after the other, until its image changes; return what moved it."""
    before = _image_src(widget)
    attempts = []
    handles = widget.locator(".noUi-handle:visible")   # a demo hides the sliders that do not apply
    for i in range(handles.count()):
        handle = handles.nth(i)
        at_max = handle.evaluate("h => Number(h.getAttribute('aria-valuenow')) >= "
                                 "Number(h.getAttribute('aria-valuemax'))")
        for key in (("ArrowLeft", "ArrowRight") if at_max else ("ArrowRight", "ArrowLeft")):
            attempts.append((f"slider {i + 1} ({key})", lambda h=handle, k=key: (h.focus(), h.press(k))))
    selects = widget.locator("select:visible")
    for i in range(selects.count()):
        def pick(sel=selects.nth(i)):
            count = sel.locator("option").count()
            sel.select_option(index=(sel.evaluate("s => s.selectedIndex") + 1) % count)
        attempts.append((f"dropdown {i + 1}", pick))
    texts = widget.locator(".widget-text input[type=text], .widget-textarea textarea")
    for i in range(texts.count()):
        def edit(box=texts.nth(i)):
            words = box.input_value().split()
            box.fill(" ".join(words[:-1]) if len(words) > 1 else " ".join(words + ["again"]))
            box.press("Enter")
        attempts.append((f"text {i + 1}", edit))
    toggles = widget.locator(".widget-toggle-button, .widget-toggle-buttons button, .widget-checkbox input")
    for i in range(toggles.count()):
        attempts.append((f"toggle {i + 1}", lambda t=toggles.nth(i): t.click()))
    buttons = widget.locator("button.widget-button")
    for i in range(buttons.count()):
        attempts.append((f"button {i + 1}", lambda b=buttons.nth(i): b.click()))
    for name, act in attempts:
        act()
        if _wait_change(page, widget, before, WIDGET_TIMEOUT_S if name.startswith("button") else MOVE_TIMEOUT_S):
            return name
    return ""


class Run:
    """One notebook in one browser tab: open, Run All, then (when done) check and move the widgets."""

    def __init__(self, lab, page, notebook: Path, shots: Path, slot: int):
        self.lab, self.page, self.notebook, self.shots = lab, page, notebook, shots
        self.name = notebook.relative_to(ROOT / "units").as_posix()
        self.problems: list[str] = []
        self.record = {"screenshots": 0}
        self.start = time.monotonic()
        copy = lab.root / notebook.relative_to(ROOT)
        shutil.copy2(notebook, copy)   # the notebook as it is now
        if page.evaluate(HAS_APP_JS):
            # JupyterLab is already loaded in this tab: open the next notebook as the file browser would,
            # without reloading the page (a reload costs seconds of CPU that the kernels need).
            page.evaluate(OPEN_JS, notebook.relative_to(ROOT).as_posix())
        else:
            page.goto(lab.url(notebook, f"slot{slot}"), wait_until="domcontentloaded")
        page.locator(f"{PANEL} .jp-Notebook").first.wait_for(timeout=60_000)
        page.wait_for_function(IDLE_JS, timeout=90_000)
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells")).first.click()
        page.wait_for_function(BUSY_JS, timeout=30_000)

    def finished(self) -> bool:
        if time.monotonic() - self.start > RUN_TIMEOUT_S:
            raise AssertionError(f"Run All did not finish within {RUN_TIMEOUT_S} s")
        return not self.page.evaluate(BUSY_JS) and self.page.evaluate(IDLE_JS)

    def check(self) -> None:
        page, stem = self.page, self.notebook.stem
        self.record["run_s"] = round(time.monotonic() - self.start, 1)
        page.screenshot(path=str(self.shots / f"{stem}.png"))
        self.record["screenshots"] += 1
        cells = page.evaluate(CELL_STATE_JS)
        not_run = [i + 1 for i, c in enumerate(cells) if c["source"].strip() and not re.search(r"\[\d+\]", c["prompt"])]
        self.problems += [f"error output:\n{e}" for e in page.evaluate(OUTPUT_ERRORS_JS)]
        if not_run:
            self.problems.append(f"code cells {not_run[:10]} (of {len(cells)}) did not run: Run All stopped early")
        # A live widget view is an output holding a .jupyter-widgets element. Without the widgets extension,
        # JupyterLab would quietly show the PNG kept in the same output instead.
        widgets = page.locator(f"{PANEL} .jp-OutputArea-output > .jupyter-widgets")
        count, expected = widgets.count(), expected_widgets(self.notebook)
        self.record["widgets"] = count
        if count < expected:
            self.problems.append(f"{count} live widget views, but the committed notebook shows {expected}")
        moved = self.record["moved"] = []
        for k in range(count):
            widget = widgets.nth(k)
            if widget.locator("img").count() == 0:
                continue   # not a figure demo
            widget.scroll_into_view_if_needed()
            how = _move_one_control(page, widget)
            widget.screenshot(path=str(self.shots / f"{stem}-widget{k + 1}.png"))
            self.record["screenshots"] += 1
            moved.append(how or "nothing changed the image")
            if not how:
                self.problems.append(f"widget {k + 1}: moving its controls did not change its image")
        self.problems += [f"error output after moving controls:\n{e}" for e in page.evaluate(OUTPUT_ERRORS_JS)
                          if f"error output:\n{e}" not in self.problems]

    def close(self) -> None:
        self.record["seconds"] = round(time.monotonic() - self.start, 1)
        try:
            self.lab.shutdown_kernel_of(self.notebook)
        except (urllib.error.URLError, OSError):
            pass
        try:   # close the notebook's tab (unsaved: the copy is thrown away), so the next one starts clean
            self.page.evaluate(CLOSE_ALL_JS)
        except Exception:   # noqa: BLE001 - the page is reloaded for the next notebook instead
            self.page.goto("about:blank")


def _demo_count(notebook: Path) -> int:
    """Widget demos in a notebook: from its committed outputs, else from its make_...() cells."""
    nb = nbformat.read(notebook, as_version=4)
    shown = sum(1 for c in nb.cells if c.cell_type == "code"
                for o in c.get("outputs", []) if {WIDGET_MIME, "image/png"} <= set(o.get("data", {})))
    return shown or sum(1 for c in nb.cells if c.cell_type == "code"
                        and re.search(r"\bmake_\w+\(", (c.source.strip().splitlines() or [""])[-1]))


def selected(selection: str = SELECTION) -> set[Path]:
    if selection == "all":
        return set(NOTEBOOKS)
    if selection == "per-unit":
        units: dict[str, list[Path]] = {}
        for nb in NOTEBOOKS:
            units.setdefault(nb.parent.name, []).append(nb)
        return {max(nbs, key=lambda nb: (_demo_count(nb), -nbs.index(nb))) for nbs in units.values()}
    patterns = [p.strip() for p in selection.split(",") if p.strip()]
    return {nb for nb in NOTEBOOKS if any(nb.relative_to(ROOT / "units").match(p) for p in patterns)}


def _params():
    chosen = selected()
    reason = (f"not in DLCOURSE_LAB_NOTEBOOKS={SELECTION!r}; DLCOURSE_LAB_NOTEBOOKS=all (the default) runs "
              "every notebook")
    return [pytest.param(nb, id=nb.relative_to(ROOT / "units").as_posix(),
                         marks=() if nb in chosen else pytest.mark.skip(reason=reason)) for nb in NOTEBOOKS]


def _selected_notebooks(request) -> list[Path]:
    """The notebooks of the test items pytest will run here (so `-k` and the selection both apply)."""
    return [item.callspec.params["notebook"] for item in request.session.items
            if getattr(item, "originalname", "") == "test_notebook_in_jupyterlab"
            and item.get_closest_marker("skip") is None]


@pytest.fixture(scope="module")
def lab_results(browser, screenshots, request):
    """Run every selected notebook in JupyterLab, PARALLEL at a time; return {notebook: problems}."""
    start = time.monotonic()
    lab = Lab()
    shots = fresh_dir(screenshots / "jupyterlab")
    pending = list(_selected_notebooks(request))
    results: dict[Path, list[str]] = {}
    records: dict[str, dict] = {}
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(lab.base):
            r.continue_()
        else:   # the course must not need the internet in JupyterLab either
            blocked.append(r.request.url)
            r.abort()

    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(max(1, PARALLEL))]
    for context in contexts:
        context.route("**/*", route)
    free = [(slot, context.new_page()) for slot, context in enumerate(contexts)]
    active: list[tuple[int, Run]] = []

    def finish(slot, run, error=None):
        try:
            if error is None:
                run.check()
        except Exception as exc:   # a browser timeout, an assertion: report it for this notebook
            error = exc
        if error is not None:
            run.problems.append(f"{type(error).__name__}: {error}")
        run.close()
        results[run.notebook] = run.problems
        records[run.name] = run.record
        free.append((slot, run.page))

    try:
        while pending or active:
            while pending and free:
                slot, page = free.pop(0)
                notebook = pending.pop(0)
                try:
                    active.append((slot, Run(lab, page, notebook, shots, slot)))
                except Exception as exc:
                    results[notebook] = [f"could not open and start it: {type(exc).__name__}: {exc}"]
                    lab.shutdown_kernel_of(notebook)
                    free.append((slot, page))
            for slot, run in list(active):
                try:
                    done = run.finished()
                except Exception as exc:
                    active.remove((slot, run))
                    finish(slot, run, exc)
                    continue
                if done:
                    active.remove((slot, run))
                    finish(slot, run)
            time.sleep(0.3)
    finally:
        for context in contexts:
            context.close()
        lab.stop()
        # The copied notebooks are not needed after the run (and nbval must never collect them).
        shutil.rmtree(lab.root, ignore_errors=True)
        Timings.record("jupyterlab", time.monotonic() - start, notebooks=len(results), parallel=PARALLEL,
                       screenshots=sum(r.get("screenshots", 0) for r in records.values()),
                       blocked_requests=sorted(set(blocked)), per_notebook=records)
    return results


@pytest.mark.parametrize("notebook", _params())
def test_notebook_in_jupyterlab(lab_results, notebook: Path):
    problems = lab_results.get(notebook)
    assert problems is not None, f"{notebook.name} was not run"
    assert not problems, f"{notebook.relative_to(ROOT)} in JupyterLab:\n" + "\n".join(problems)
