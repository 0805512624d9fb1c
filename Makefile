# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?=

.PHONY: venv demo test test-sqlite test-postgresql test-mariadb lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,postgres]"
	@# mysqlclient compiles against libmariadb-dev; without it the MariaDB run is skipped.
	-$(PY) -m pip install -q "mysqlclient>=2.2" || echo "mysqlclient could not be built: MariaDB tests will be skipped"
	touch $@

venv: $(VENV)/.installed

demo: venv
	cd example_project && ../$(PY) manage.py demo $(if $(filter burst,$(DEMO)),--burst,)

test: venv
	$(PY) scripts/run_tests.py

test-sqlite test-postgresql test-mariadb: venv
	$(PY) scripts/run_tests.py --only $(subst test-,,$@)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: venv
	$(PY) benchmarks/run.py $(if $(PEERS),--peers,)

clean:
	rm -rf $(VENV) .tox .mypy_cache .ruff_cache .pytest_cache
