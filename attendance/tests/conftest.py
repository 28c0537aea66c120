"""Fixtures for tests that run the project in another process (commands, servers)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(db_path: Path) -> dict:
    """The embedded default on its own SQLite file, whatever this test run uses."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SQLITE_PATH=str(db_path),
        PYTHONUNBUFFERED="1",
        LOG_DIR=str(db_path.parent),
        ATTENDANCE_IN_PROCESS_SWEEP="0",
    )
    return env


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite database to copy, so each test pays for `migrate` once per run."""
    path = tmp_path_factory.mktemp("template-db") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=subprocess_env(path),
        check=True,
        timeout=120,
    )
    return path
