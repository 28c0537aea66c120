"""A bad setting stops every entry point with its message alone and exit status 2."""

import argparse
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from attendance.tests.conftest import subprocess_env

ROOT = settings.BASE_DIR
MESSAGE = "Configuration error: ATTENDANCE_SWEEP_SECONDS='often' is not a whole number."


def run(argv: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    environment = subprocess_env(tmp_path / "db.sqlite3")
    environment.update(env)
    return subprocess.run(
        argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([sys.executable, "manage.py", "migrate"], id="manage.py"),
        pytest.param(
            [sys.executable, "-m", "daphne", "-p", "0", "config.asgi:application"], id="daphne"
        ),
        pytest.param(
            [sys.executable, "manage.py", "cleanup_sessions", "--loop", "--interval", "5"],
            id="the sweeper",
        ),
    ],
)
def test_a_bad_setting_prints_its_message_alone_and_exits_2(tmp_path, argv):
    proc = run(argv, tmp_path, ATTENDANCE_SWEEP_SECONDS="often")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [MESSAGE]
    assert proc.stdout == ""


def test_a_bad_public_url_is_refused_at_start(tmp_path):
    proc = run([sys.executable, "manage.py", "check"], tmp_path, PUBLIC_URL="192.168.1.20:8000")
    assert proc.returncode == 2
    assert "PUBLIC_URL='192.168.1.20:8000' must start with http:// or https://" in proc.stderr


def test_a_bad_metrics_network_is_refused_at_start(tmp_path):
    proc = run(
        [sys.executable, "manage.py", "check"], tmp_path, METRICS_ALLOWED_NETWORKS="10.0.0.0/33"
    )
    assert proc.returncode == 2
    assert "METRICS_ALLOWED_NETWORKS: '10.0.0.0/33' is not a network" in proc.stderr


def test_a_bad_sentinel_address_is_refused_at_start(tmp_path):
    proc = run(
        [sys.executable, "manage.py", "check"],
        tmp_path,
        REDIS_URL="redis://x/0",
        REDIS_SENTINELS="10.0.0.5",
    )
    assert proc.returncode == 2
    assert "REDIS_SENTINELS: '10.0.0.5' is not host:port" in proc.stderr


def test_the_sweeper_refuses_a_sweep_job_that_does_not_import(settings):
    settings.SWEEP_JOBS = ["outbox.delivery.no_such_job"]
    with pytest.raises(CommandError, match=r"SWEEP_JOBS: 'outbox\.delivery\.no_such_job'") as error:
        call_command("cleanup_sessions", "--loop", "--interval", "1")
    assert error.value.returncode == 2


def test_metrics_port_needs_the_loop(db):
    with pytest.raises(CommandError, match="--metrics-port only makes sense with --loop"):
        call_command("cleanup_sessions", "--metrics-port", "9100")


@pytest.mark.parametrize("port", ["²", "١٢", "-1", "65536", ""])
def test_a_port_that_is_no_ascii_number_is_refused_with_its_message(port):
    # "²".isdigit() is true, and int() refused it with a traceback.
    from django.core.exceptions import ImproperlyConfigured

    from attendance.management.commands.cleanup_sessions import port_argument
    from config.env import host_port

    with pytest.raises(argparse.ArgumentTypeError, match="is not a port number"):
        port_argument(port)
    if port and port != "-1" and port != "65536":
        with pytest.raises(ImproperlyConfigured, match="is not host:port"):
            host_port("REDIS_SENTINELS", f"10.0.0.5:{port}")
