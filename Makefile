# dlcourse — one command each: `make lab` (set up + open the course), `make test`
# (set up + every test), `make book` (set up + build the site into _build/html).
# Each starts from a fresh clone: the first run creates .venv from the pinned
# environment in requirements/course.lock (torch 2.13.0, CPU build).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test test-fast book book-student benchmarks release lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/course.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/course.lock -e ".[lab,test,book]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

lab: setup
	$(BIN)/python -m dlcourse doctor || true
	$(BIN)/jupyter lab --ServerApp.root_dir=units $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile \
	    --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg tests units

test-fast: setup
	$(BIN)/python -m pytest -p no:cacheprovider -x -q tests

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

benchmarks: setup
	$(BIN)/python benchmarks/run.py

release: setup
	$(BIN)/python -m dlcourse release --out _release

book-student: setup
	$(BIN)/python -m dlcourse release --out _release --book
	$(BIN)/jupyter-book build _release/student-book -W -n --keep-going
	$(BIN)/jupyter-book build _release/instructor-book -W -n --keep-going

lock:
	$(PYTHON) -m venv /tmp/dlcourse-lock && /tmp/dlcourse-lock/bin/pip install --quiet "torch==2.13.0" -e ".[lab,test,book]" \
	  && /tmp/dlcourse-lock/bin/pip freeze --exclude-editable | sed 's/+cpu//' > requirements/course.lock.new
	@echo "review requirements/course.lock.new, then move it over requirements/course.lock"

clean:
	rm -rf _build _release .pytest_cache
