# dlcourse — one command each: `make lab` (set up + the student workspace + JupyterLab on it), `make test`
# (set up + build the site + every test, browser tests included), `make book` (set up + build the
# students' offline site into _build/html; `make book-solutions` builds the teaching assistants' one).
# Each starts from a fresh clone: the first run creates .venv from the pinned
# environment in requirements/course.lock (torch 2.13.0, CPU build).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# `make lab` installs what a student needs (the `lab` extra); the test and book tools come with `make test`,
# `make book` and the other instructor targets (one pinned environment either way: requirements/course.lock).
STAMP  := $(VENV)/.installed-lab
DEV    := $(VENV)/.installed-dev
# The student workspace (git-ignored): student notebooks, created on the first `make lab`, never overwritten.
WORKSPACE ?= workspace
# Extra arguments for JupyterLab, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
LAB_ARGS ?=
ROOT_FLAG := $$([ "$$(id -u)" = 0 ] && echo --allow-root)
ASSETS := DLCOURSE_ASSETS_CACHE=$(CURDIR)/.cache/site-assets

.PHONY: setup setup-dev workspace lab lab-instructor test test-fast test-browser book book-student book-solutions \
        benchmarks release lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/course.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/course.lock -e ".[lab]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup-dev: $(DEV)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements/course.lock -e ".[lab,test,book,hub]"
	touch $(DEV)

# Creates the workspace on the first run; later runs bring new and updated course notebooks beside the student's
# work and never overwrite it (see README, "Your workspace").
workspace: setup
	$(BIN)/python -m dlcourse workspace --dest $(WORKSPACE)

lab: workspace
	$(BIN)/python -m dlcourse doctor || true
	$(BIN)/jupyter lab --ServerApp.root_dir=$(WORKSPACE) $(ROOT_FLAG) $(LAB_ARGS)

# The solved notebooks (units/), for instructors and teaching assistants.
lab-instructor: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=units $(ROOT_FLAG) $(LAB_ARGS)

# Builds the site first (its browser tests check _build/html), then runs every test even if the build
# failed, and fails if either did. Browser tests need /usr/bin/chromium (CI installs it; without it they
# are skipped, or fail when CI is set). Screenshots: tests/_artifacts/screenshots.
test: setup-dev
	@status=0; $(MAKE) --no-print-directory book || status=$$?; \
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile \
	    --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg tests units || status=$$?; \
	exit $$status

# The site's pages and JupyterLab's notebooks are tested side by side (two workers): within 5 minutes here.
test-browser: setup-dev
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile -m browser tests/browser

test-fast: setup-dev
	$(BIN)/python -m pytest -p no:cacheprovider -x -q -m "not browser" tests

# The site students read: the student version of every notebook (exercises as stubs, their outputs cleared, no
# test markers), showing the notebooks' saved outputs (nbval checks them against the code in `make test`; a stub
# would raise, so nothing is executed). `make release --book` lays out the book in _release/student-book; the
# site goes to _build/html, wiped first so that no page of an earlier build survives.
# Offline assets (MathJax, require.js, the widgets' HTML manager, fonts) come from the npm registry once,
# into .cache/site-assets.
book: setup-dev
	$(BIN)/python tools/site_assets.py >/dev/null
	$(BIN)/python -m dlcourse release --out _release --book >/dev/null
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(ASSETS) $(BIN)/jupyter-book build _release/student-book --path-output . -W -n --keep-going

book-student: book

# The solutions site, for teaching assistants only (never publish it to students): _build/solutions/_build/html.
book-solutions: setup-dev
	$(BIN)/python tools/site_assets.py >/dev/null
	$(BIN)/python -m dlcourse release --out _release --book >/dev/null
	rm -rf _build/solutions
	$(ASSETS) $(BIN)/jupyter-book build _release/instructor-book --path-output _build/solutions -W -n --keep-going

benchmarks: setup-dev
	$(BIN)/python benchmarks/run.py

release: setup
	$(BIN)/python -m dlcourse release --out _release

lock:
	$(PYTHON) -m venv /tmp/dlcourse-lock && /tmp/dlcourse-lock/bin/pip install --quiet "torch==2.13.0" -e ".[lab,test,book,hub]" \
	  && /tmp/dlcourse-lock/bin/pip freeze --exclude-editable | sed 's/+cpu//' > requirements/course.lock.new
	@echo "review requirements/course.lock.new, then move it over requirements/course.lock"

clean:
	rm -rf _build _release .pytest_cache tests/_artifacts
