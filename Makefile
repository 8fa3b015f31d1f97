# Two commands: `make run` serves the product on its embedded default; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check ci clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	@echo
	@echo "  Orlume is starting on http://127.0.0.1:8000/"
	@echo "  API docs: http://127.0.0.1:8000/api/v1/docs/   admin: http://127.0.0.1:8000/admin/"
	@echo "  (create an admin with: $(PY) manage.py createsuperuser)"
	@echo
	$(VENV)/bin/daphne -v 0 -b 127.0.0.1 -p 8000 orlume_site.asgi:application

test: $(STAMP)
	$(PY) scripts/test.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

check: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) scripts/check_deploy.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
