"""Real daphne processes for tests that need a server on a socket (marker `servers`)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

STARTUP_TIMEOUT = 30
DAPHNE_APP = "config.asgi:application"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database the current test runs against (PostgreSQL only)."""
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not listen on {port} in {STARTUP_TIMEOUT} s")


@contextlib.contextmanager
def daphne(
    *, workdir: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[int]:
    """A daphne process on 127.0.0.1 (a free port by default) serving the test database.

    On SQLite the caller names the server's database file in extra_env (SQLITE_PATH):
    the test run's own database is in memory, out of another process's reach.

    Yields the port; the process is stopped when the block ends.
    """
    with daphne_process(workdir=workdir, extra_env=extra_env, port=port) as (_proc, port):
        yield port


@contextlib.contextmanager
def daphne_process(
    *, workdir: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[subprocess.Popen, int]]:
    """daphne(), yielding the process too, for tests that signal or kill it."""
    port = port or free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "CHANNEL_LAYER_PREFIX"}
    }
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = test_database_url()
    env.update(
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_DIR=str(workdir / "logs"),
        ATTENDANCE_IN_PROCESS_SWEEP="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    log = workdir / f"daphne-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), DAPHNE_APP],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, proc, log)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
