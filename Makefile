# envkeys: `make run` serves the app on 127.0.0.1:8000, `make test` checks the import contracts and runs the tests,
# `make bench` runs the key-path micro-benchmarks (bench/micro.py) and the authentication benchmark
# (bench/run.py, about 10 minutes).
# All create the virtualenv (.venv) and install the project on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# e.g. make bench BENCH_ARGS="--port 8200 --rounds 4" (ports 8765-8771 by default, or $$BENCH_PORT)
BENCH_ARGS ?=

.PHONY: run test bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# A local .env with a generated SECRET_KEY, written once and never committed.
.env:
	@$(PYTHON) -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(50))" > .env
	@echo "Wrote .env with a new SECRET_KEY."

run: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py initadmin
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The import contracts (pyproject.toml [tool.importlinter]) first: an import that runs back up a layer fails.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/micro.py
	$(BIN)/python bench/run.py $(BENCH_ARGS)
