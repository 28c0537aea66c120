# Roll-call. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install lint format migrate seed bench bench-pages chromium clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# The embedded default: SQLite, the in-memory channel layer, and the sweeper
# in a thread of the server process (config/asgi.py starts it), so expired
# sessions end and their registers are written with no extra command.
run: seed
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops). Demo logins are listed above."
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) config.asgi:application

# Debian's Chromium drives the browser tests; install it if it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# pytest exits 5 when it collected no tests: a selection that matches nothing
# is a broken run, not a green one, so it fails with a message.
test: install chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	@$(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests (exit 5): check PYTEST_ARGS" >&2; fi; \
	  exit $$status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/realtime_bench.py

# Fee and register pages at a school of STUDENTS (its own database on DATABASE_URL's server).
STUDENTS ?= 10000
bench-pages: install
	$(PY) bench/pages_bench.py --students $(STUDENTS)

clean:
	rm -rf $(VENV) staticfiles logs db.sqlite3 db.sqlite3-*
