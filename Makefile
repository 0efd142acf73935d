# The two set-up commands of the README: `make up` runs the node, `make test` runs the tests.
# Both install what they need on first use: a virtualenv in .venv and the pinned npm packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint types compile bench-gas deps browser

up: deps
	$(BIN)/registry up

test: deps browser
	$(BIN)/python -m pytest

lint: deps
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

types: deps
	$(BIN)/mypy node api indexer bench tests

compile: deps
	$(BIN)/registry compile

bench-gas: deps
	$(BIN)/python -m bench.gas

deps: $(VENV)/.installed node_modules/.installed

# The web UI's browser tests drive Debian's Chromium (Playwright's own download needs the internet): installed here
# when missing, as root or through sudo.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@
