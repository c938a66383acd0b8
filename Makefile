# Two commands: `make run` installs everything and serves the app with demo data; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := wfm/static/vendor/htmx.min.js

.PHONY: setup run test lint clean

setup: $(VENV)/.installed $(HTMX)

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# htmx comes from npm, pinned with its integrity hash in package-lock.json, and is served by the app itself.
$(HTMX): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

run: setup
	$(BIN)/wfm run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest --durations=12

clean:
	rm -rf $(VENV) node_modules $(dir $(HTMX))
