# Two commands on a fresh clone: `make run` and `make test`.
# Each bootstraps .venv by itself; a stamp file keeps the second run quick.

PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 5000
THREADS ?= 8
# Test processes: most tests wait on servers and sockets, so two keep two cores busy.
TEST_JOBS ?= 2
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AXE    := tests/browser/node_modules/.installed

.PHONY: run test bench screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else "Python 3.11 or 3.12 is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# waitress reads each request whole before a thread sees it (see gallery/serve.py).
run: $(STAMP)
	$(BIN)/python -m gallery.serve --host $(HOST) --port $(PORT) --threads $(THREADS)

# axe-core for the browser tests' accessibility checks, pinned by its package-lock.json.
$(AXE): tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm is not installed: the accessibility checks will be skipped (apt-get install npm)"; \
	fi

test: $(STAMP) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The README's pictures: the browser tests' screenshots, copied to docs/screenshots/.
# CI=1: a missing Chromium is an error here, not a skip.
screenshots: $(STAMP)
	rm -rf artifacts/screenshots
	CI=1 $(BIN)/python -m pytest -q tests/browser/test_screenshots.py
	mkdir -p docs/screenshots
	cp artifacts/screenshots/*.png docs/screenshots/

clean:
	rm -rf $(VENV) .pytest_cache
