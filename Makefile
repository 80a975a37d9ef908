# The two commands: `make run` (install and start with demo accounts) and `make test` (install and run every test).
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin

.PHONY: run test bench frontend install-run install-test clean

run: install-run
	$(BIN)/webide toolchain install --optional
	$(BIN)/webide run --demo --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install-test
	$(BIN)/python -m bench

frontend:
	cd frontend && npm ci && npm run build

install-run: $(VENV)/.installed-run
	scripts/system-packages.sh run

install-test: $(VENV)/.installed-test
	scripts/system-packages.sh test
	test -x frontend/node_modules/.bin/eslint || (cd frontend && npm ci --no-audit --no-fund --silent)

$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) instance test-artifacts
