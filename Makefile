# Roll-call. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per CPU, at most four; 0 runs in this process.
PYTEST_WORKERS ?= auto

.PHONY: run test install lint format migrate seed bench bench-import bench-timetable bench-pages bench-floor bench-ping chromium debian-packages clean

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

# Debian's packages the tests drive: Chromium (browser tests), nginx (the deployed
# topology) and redis-sentinel (the failover test), installed with apt when missing.
# Without apt (not Debian, or no root), Playwright's own Chromium is fetched instead;
# whatever is still missing makes its tests skip with the reason, except under
# ROLLCALL_REQUIRE_SERVICES=1 (CI), where this step and those tests fail.
debian-packages: install
	@missing=""; \
	[ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v redis-sentinel >/dev/null 2>&1 || missing="$$missing redis-sentinel"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	if command -v apt-get >/dev/null 2>&1 && echo "Installing Debian's$$missing for the tests" && \
	   $$SUDO apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; then \
	  exit 0; \
	fi; \
	case "$$missing" in *chromium*) \
	  echo "No apt: fetching Playwright's own Chromium"; \
	  $(VENV)/bin/playwright install chromium || true;; esac; \
	if [ "$$ROLLCALL_REQUIRE_SERVICES" = 1 ]; then \
	  echo "Could not install$$missing (ROLLCALL_REQUIRE_SERVICES=1)" >&2; exit 1; fi; \
	echo "warning: could not install$$missing; the tests that need them will be skipped" >&2

# The old name of the step above.
chromium: debian-packages

# pytest exits 5 when it collected no tests: a selection that matches nothing
# is a broken run, not a green one, so it fails with a message.
test: install debian-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	@$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --maxprocesses=4 $(PYTEST_ARGS); status=$$?; \
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

# What 10,000 sockets' heartbeats cost daphne, Channels and websockets without our code.
bench-floor: install
	$(PY) bench/stack_floor.py

# What the device consumer's own code adds to a ping (one process, no sockets).
bench-ping: install
	$(PY) bench/ping_path.py

# One sweeper tick in a school of 2,000 timetabled meetings (its own PostgreSQL database).
bench-timetable: install
	$(PY) bench/timetable_bench.py

# Fee and register pages at a school of STUDENTS (its own database on DATABASE_URL's server).
STUDENTS ?= 10000
bench-pages: install
	$(PY) bench/pages_bench.py --students $(STUDENTS)

clean:
	rm -rf $(VENV) staticfiles logs db.sqlite3 db.sqlite3-*

# Bulk import: 10,000 students, 300 courses, 60,000 enrollments on PostgreSQL.
bench-import: install
	$(PY) bench/import_bench.py
