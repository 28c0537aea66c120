"""manage.py import_school from a shell: exit codes and the report."""

import shutil
import subprocess
import sys

import pytest

from accounts.tests.files import csv_bytes
from attendance.tests.conftest import ROOT, migrated_sqlite, subprocess_env

__all__ = ["migrated_sqlite"]  # the fixture, shared with the attendance tests


def run(*args, db_path):
    return subprocess.run(
        [sys.executable, "manage.py", "import_school", *args],
        cwd=ROOT,
        env=subprocess_env(db_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def db_path(tmp_path, migrated_sqlite):
    path = tmp_path / "db.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return path


def test_bad_rows_exit_1_with_row_column_and_reason(tmp_path, db_path):
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes("student_number,first_name,last_name,email", "S1,Ada,,x@"))
    result = run("--kind", "students", str(path), db_path=db_path)
    assert result.returncode == 1
    assert "row 2, column last_name: This value is required." in result.stdout
    assert "row 2, column email: 'x@' is not a valid email address." in result.stdout
    assert "Nothing was imported" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "teachers", "x.csv"], "invalid choice: 'teachers'"),
        (["--kind", "students", "no-such-file.csv"], "no such file"),
        (["students.csv"], "the following arguments are required: --kind"),
        (
            ["--kind", "students", "--base-url", "javascript:alert(1)", "x.csv"],
            "--base-url 'javascript:alert(1)' is not an http:// or https:// address",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, db_path):
    result = run(*args, db_path=db_path)
    assert result.returncode == 2
    assert message in result.stderr
