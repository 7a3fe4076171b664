# Two commands: `make demo` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint pytest demo clean bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

# Lint first, then the suite; any failure makes the target fail.
test: lint pytest

demo: $(STAMP)
	$(BIN)/publisher demo

# Each prints its figures beside its baseline; see bench/README.md. deliver and scaledrain
# also run on PostgreSQL when its binaries are under /usr/lib/postgresql (and say so if not).
bench: $(STAMP)
	for b in intake feeds deliver scaledrain digest web daemon console; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
