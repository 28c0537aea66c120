"""A pg_dump backup restores into a fresh database that is whole: README, "Backups".

The commands are README's: `pg_dump -Fc`, then `pg_restore --no-owner` into a
new database, then `manage.py migrate --check` and `manage.py verify_ledger`.
"""

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from attendance.devices import register_device
from attendance.sessions import end_session, start_session
from payments import ledger
from payments.models import Charge, Payment, PaymentReversal, Term
from realtime.tests.servers import test_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
LEDGER = [Charge, Payment, PaymentReversal]


def _school(course, students, lecturer, staff_user) -> None:
    register_device(student=students[0], name="phone")
    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session, by=lecturer)
    today = timezone.localdate()
    term = Term.objects.create(
        name="Second Term",
        year=2026,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=60),
        fee=Decimal("120.00"),
        due_on=today + timedelta(days=30),
    )
    ledger.activate_term(term=term)
    ledger.bill_term(term=term)
    ledger.record_payment(
        student=students[0], term=term, amount="80.00", method="cash", by=staff_user
    )
    mistake = ledger.record_payment(
        student=students[1], term=term, amount="12.00", method="cash", by=staff_user
    ).payment
    ledger.void_payment(payment=mistake, reason="Entered twice", by=staff_user)


def _fingerprint(url: str) -> dict[str, object]:
    """Row counts of every table, and a checksum of every ledger row's content."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        found: dict[str, object] = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables
        }
        for model in LEDGER:
            table = model._meta.db_table
            rows = "string_agg(t::text, '|' ORDER BY t.id)"
            found[f"md5:{table}"] = conn.execute(
                f"SELECT md5(coalesce({rows}, '')) FROM \"{table}\" t"
            ).fetchone()[0]
    return found


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin:/usr/local/bin", "LOG_DIR": "/tmp"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_backup_restores_into_a_fresh_database_whole(
    tmp_path, course, students, lecturer, staff_user
):
    _school(course, students, lecturer, staff_user)
    source = test_database_url()
    restored_name = f"{connection.settings_dict['NAME']}_restored"
    restored = source.rsplit("/", 1)[0] + f"/{restored_name}"
    dump = tmp_path / "rollcall.dump"

    # Backup (README): the custom format, which pg_restore reads selectively.
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "-d", source], check=True, timeout=60)
    with psycopg.connect(_admin_url(source), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{restored_name}"')
        admin.execute(f'CREATE DATABASE "{restored_name}"')
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", restored, str(dump)],
            check=True,
            timeout=60,
        )
        check = _manage(restored, "migrate", "--check")
        assert check.returncode == 0, check.stdout + check.stderr
        before, after = _fingerprint(source), _fingerprint(restored)
        assert after == before
        assert before["payments_payment"] == 2 and before["payments_paymentreversal"] == 1
        # The fees' own audit: every kept balance agrees with the restored entries.
        verified = _manage(restored, "verify_ledger")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # The append-only trigger came back with the data.
        with psycopg.connect(restored) as conn, pytest.raises(psycopg.Error):
            conn.execute("UPDATE payments_payment SET amount = 1")
    finally:
        with psycopg.connect(_admin_url(source), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
