# The two commands of the quick start: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench-% clean

demo: $(STAMP)
	$(BIN)/fullcycle demo --workspace fullcycle-demo

test: $(STAMP) system
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# Chromium (HTML report tests) and PostgreSQL (SQL source tests) come from Debian.
.PHONY: system
system:
	@sh scripts/install-system-packages.sh

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) fullcycle-demo test-artifacts
