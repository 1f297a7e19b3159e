# The two commands of the quick start: `make demo` and `make test`. Each sets up what it needs.
#
# Two locks, both complete (every package pinned, installed with --no-deps):
#   requirements.lock       the runtime: what `fullcycle` needs, no test tools, no extras
#   requirements-test.lock  the runtime + every extra (catboost, shap, postgres, excel, html, and
#                           the task kinds' extras) + the test and lint tools
# `make demo` installs only the first; `make test` both. `make lock` regenerates them with uv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
TEST_STAMP    := $(VENV)/.installed-test
# Extras of pyproject.toml that the test lock carries (every optional part is tested).
TEST_EXTRAS := --all-extras
UV_COMPILE = $(UV) pip compile pyproject.toml --python-version 3.11 --quiet
UV ?= $(VENV)-tools/bin/uv

.PHONY: demo test lint lock system clean bench-%

demo: $(RUNTIME_STAMP)
	$(BIN)/fullcycle demo --workspace fullcycle-demo

test: $(TEST_STAMP) system
	$(BIN)/lint-imports && $(BIN)/mypy src && $(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# Chromium (HTML report tests) and PostgreSQL (SQL source tests) come from Debian.
system:
	@sh scripts/install-system-packages.sh

$(RUNTIME_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(RUNTIME_STAMP)

# --no-deps: the lock is the whole closure, and it overrides pins some packages declare
# (statsforecast/mlforecast say pandas<3 but work on pandas 3; see overrides.txt).
$(TEST_STAMP): $(RUNTIME_STAMP) requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -r requirements-test.lock
	touch $(TEST_STAMP)

# uv lives in its own small venv: it is a tool for making the locks, not part of either.
$(UV):
	$(PYTHON) -m venv $(VENV)-tools
	$(VENV)-tools/bin/pip install --quiet uv

lock: $(UV)
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) $(TEST_EXTRAS) --override overrides.txt -o requirements-test.lock

clean:
	rm -rf $(VENV) $(VENV)-tools fullcycle-demo test-artifacts
