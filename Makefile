# The two commands: `make run` (install and start with demo accounts) and `make test` (install and run every test).
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin

.PHONY: run test bench frontend install-run install-test clean

run: install-run
	@$(BIN)/webide toolchain install --optional
	@$(BIN)/webide run --demo --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install-test
	$(BIN)/python -m bench

frontend:
	cd frontend && npm ci && npm run build

install-run: $(VENV)/.installed-run
	@scripts/system-packages.sh run

install-test: $(VENV)/.installed-test
	@scripts/system-packages.sh test
	@test -x frontend/node_modules/.bin/eslint || (cd frontend && npm ci --no-audit --no-fund --silent)

# pip's own output goes to a log, shown only when the install fails.
PIP_INSTALL = $(BIN)/python -m pip install -q
PIP_LOG = $(VENV)/pip.log

$(VENV)/.installed-run: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the Python package into $(VENV) (log: $(PIP_LOG))"
	@($(PIP_INSTALL) --upgrade pip && $(PIP_INSTALL) -e .) > $(PIP_LOG) 2>&1 || (cat $(PIP_LOG); exit 1)
	@touch $@

$(VENV)/.installed-test: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the Python package and its test tools into $(VENV) (log: $(PIP_LOG))"
	@($(PIP_INSTALL) --upgrade pip && $(PIP_INSTALL) -e '.[test]') > $(PIP_LOG) 2>&1 || (cat $(PIP_LOG); exit 1)
	@touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) instance test-artifacts
