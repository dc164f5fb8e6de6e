# Two entry points: `make demo` and `make test`. Everything installs into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install test demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q

# The secure multi-party computation example end to end (examples/smpc/demo.sh prints each command it runs).
demo: install
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/smpc/demo.sh

bench: install
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
