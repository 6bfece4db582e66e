# dlcourse — one command each: `make lab` (set up + open the course), `make test`
# (set up + build the site + every test, browser tests included), `make book` (set up + build the
# offline site into _build/html).
# Each starts from a fresh clone: the first run creates .venv from the pinned
# environment in requirements/course.lock (torch 2.13.0, CPU build).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test test-fast test-browser book book-student benchmarks release lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/course.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/course.lock -e ".[lab,test,book,hub]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

lab: setup
	$(BIN)/python -m dlcourse doctor || true
	$(BIN)/jupyter lab --ServerApp.root_dir=units $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Builds the site first (its browser tests check _build/html), then runs every test even if the build
# failed, and fails if either did. Browser tests need /usr/bin/chromium (CI installs it; without it they
# are skipped, or fail when CI is set). Screenshots: tests/_artifacts/screenshots.
test: setup
	@status=0; $(MAKE) --no-print-directory book || status=$$?; \
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile \
	    --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg tests units || status=$$?; \
	exit $$status

# The site's pages and JupyterLab's notebooks are tested side by side (two workers): within 5 minutes here.
test-browser: setup
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile -m browser tests/browser

test-fast: setup
	$(BIN)/python -m pytest -p no:cacheprovider -x -q -m "not browser" tests

# Offline assets (MathJax, require.js, the widgets' HTML manager, fonts) come from the npm registry once,
# into .cache/site-assets. Notebooks run into the execution cache _build/.jupyter_cache, one per core, before
# the build (which then only re-runs what failed). MPLBACKEND is unset: with CI's Agg, kernels draw no figures.
# TQDM_DISABLE: a progress bar on a static page would show its first state, 0 %, forever.
book: setup
	$(BIN)/python tools/site_assets.py >/dev/null
	env -u MPLBACKEND TQDM_DISABLE=1 $(BIN)/python tools/execute_book.py
	env -u MPLBACKEND TQDM_DISABLE=1 $(BIN)/jupyter-book build . -W -n --keep-going

benchmarks: setup
	$(BIN)/python benchmarks/run.py

release: setup
	$(BIN)/python -m dlcourse release --out _release

# The released books show the notebooks' saved outputs (student stubs raise NotImplementedError, so they are
# not executed) and need the book's Sphinx extensions from tools/.
book-student: setup
	$(BIN)/python -m dlcourse release --out _release --book
	$(BIN)/python tools/site_assets.py >/dev/null
	$(BIN)/jupyter-book build _release/student-book -W -n --keep-going
	$(BIN)/jupyter-book build _release/instructor-book -W -n --keep-going

lock:
	$(PYTHON) -m venv /tmp/dlcourse-lock && /tmp/dlcourse-lock/bin/pip install --quiet "torch==2.13.0" -e ".[lab,test,book,hub]" \
	  && /tmp/dlcourse-lock/bin/pip freeze --exclude-editable | sed 's/+cpu//' > requirements/course.lock.new
	@echo "review requirements/course.lock.new, then move it over requirements/course.lock"

clean:
	rm -rf _build _release .pytest_cache tests/_artifacts
