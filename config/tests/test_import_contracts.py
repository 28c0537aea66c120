"""The import contracts in pyproject.toml hold, and an import against them fails the lint.

`make test` runs `lint-imports` before pytest; these tests prove the contracts
can fail, by planting a wrong import in a copy of the code.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "config", "demo", "ops", "accounts", "api", "realtime", "portal", "reports", "excuses",
    "analytics", "timetable", "payments", "attendance", "outbox",
]  # fmt: skip
LINT = Path(sys.executable).with_name("lint-imports")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def copy_of_the_code(tmp_path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(where: Path, module: str, line: str) -> None:
    path = where / module
    path.write_text(f"{line}\n{path.read_text()}")


def test_the_code_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_domain_module_importing_the_api_breaks_the_layers(copy_of_the_code):
    plant(copy_of_the_code, "attendance/sessions.py", "from api import errors  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "attendance is not allowed to import api" in result.stdout


def test_attendance_importing_the_reports_it_feeds_breaks_the_layers(copy_of_the_code):
    # The register reaches the standings through settings.ATTENDANCE_REGISTER_HOOKS only.
    plant(copy_of_the_code, "attendance/hooks.py", "from reports import standings  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "attendance is not allowed to import reports" in result.stdout


def test_the_broadcast_door_importing_a_selector_is_refused(copy_of_the_code):
    plant(copy_of_the_code, "realtime/broadcast.py", "from attendance import selectors  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "realtime.broadcast is not allowed to import attendance" in result.stdout


def test_a_circle_between_two_modules_of_an_app_is_refused(copy_of_the_code):
    # selectors already imports codes; codes importing selectors closes a circle.
    plant(copy_of_the_code, "attendance/codes.py", "from attendance import selectors  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "No import circles" in result.stdout and "BROKEN" in result.stdout


def test_attendance_importing_the_timetable_breaks_the_layers(copy_of_the_code):
    # The timetable sits above attendance: sessions know nothing of meetings.
    plant(copy_of_the_code, "attendance/views.py", "from timetable import selectors  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "attendance is not allowed to import timetable" in result.stdout


def test_the_student_pages_importing_the_sockets_break_the_layers(copy_of_the_code):
    # portal sits beside api and realtime: none of the three imports another.
    plant(copy_of_the_code, "portal/views.py", "from realtime import views  # noqa")
    result = lint(copy_of_the_code)
    assert result.returncode == 1
    assert "portal is not allowed to import realtime" in result.stdout
