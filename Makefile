# Two commands do all set-up on a fresh machine:
#   make run   -> create .venv, install, run the flagship scenario and write its report
#   make test  -> create .venv, install with test extras, lint and type-check, run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint install clean bench schema mutate docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[dev,web,static,cluster,cases,docs,fast]"
	$(PY) -c 'from detente.experiments.compiled_cache import main; main()'   # fill numba's cache (speed only)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/detente demo --sensitivity

# the docs site is built in strict mode (a broken link or API reference fails) and executes the notebook tour
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d $${DOCS_SITE:-site}

# lint and type checks (rules and reasons: docs/contributing.md); `make test` runs them first
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m mypy src/detente

test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs DOCS_SITE=$$(mktemp -d)
	$(PY) -m pytest -n 2 -q

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow and not browser"

# mutation testing of one module against the tests that import it (slow; not part of `make test`):
#   make mutate MODULE=src/detente/models/baseline.py [MUTATE_ARGS="--sample 300"]
mutate: $(STAMP)
	@test -n "$(MODULE)" || { echo "usage: make mutate MODULE=src/detente/<path>.py [MUTATE_ARGS='--sample 300']"; exit 2; }
	$(PY) tools/mutate.py $(MODULE) --max-children 1 $(MUTATE_ARGS)

schema: $(STAMP)
	$(VENV)/bin/detente schema > schemas/scenario.schema.json
	$(VENV)/bin/detente schema --crisis > schemas/crisis-dynamics.schema.json

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info .mutmut
