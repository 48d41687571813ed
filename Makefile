# Two entry points for a fresh machine: `make demo` and `make test`. Both create or reuse
# .venv and install the project with its pinned dependencies by themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.qmskit-installed
PYTEST_WORKERS ?= 2

.PHONY: demo test install system-deps bench typecheck lint clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	# pip compiles a wheel's modules, not an editable install's: without this, where PYTHONDONTWRITEBYTECODE
	# is set, every `qms` compiles the qmskit modules it imports again (~0.1 s a command)
	$(PY) -m compileall -q qms traceability deid models validation
	touch $@

install: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

demo: install system-deps
	$(PY) examples/cxr-triage/demo.py

test: install system-deps
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

# Strict mypy over the `qms` namespace as it is imported, then the import-linter layer
# contracts (pyproject.toml), both on the link tree scripts/typecheck.py builds under build/.
typecheck: install
	$(PY) scripts/typecheck.py

lint: typecheck

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache
