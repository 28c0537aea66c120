"""verify_ledger: a balance row changed behind the ledger's back is found, and repaired."""

import io
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from payments import ledger
from payments.models import Balance

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_ledger", *args, stdout=out)
    return out.getvalue()


def behind_the_ledgers_back(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def ledger_with_entries(billed_term, students, pay):
    pay(students[0], billed_term, "80.00")
    voided = pay(students[1], billed_term, "50.00")
    ledger.void_payment(payment=voided, reason="Bounced", by=None)
    ledger.add_adjustment(
        student=students[2], term=billed_term, kind="discount", amount="20", reason="Sibling"
    )
    ledger.extend_due_date(
        student=students[3],
        term=billed_term,
        due_on=billed_term.due_on + timedelta(days=20),
        reason="Plan",
    )
    return billed_term


def test_a_ledger_kept_by_the_ledger_verifies_clean(ledger_with_entries):
    output = verify()
    assert "5/5 students checked, 0 drifted" in output
    assert "every balance matches" in output


def test_a_row_changed_behind_the_ledgers_back_is_drift_and_exits_1(ledger_with_entries, students):
    behind_the_ledgers_back(
        "UPDATE payments_balance SET paid = 0 WHERE student_id = %s", [students[0].pk]
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 balance row") as failed:
        call_command("verify_ledger", stdout=out)
    assert failed.value.returncode == 1
    assert (
        f"DRIFT {students[0].student_number} in {ledger_with_entries}: "
        "paid 0.00 in the row, 80.00 from the entries" in out.getvalue()
    )


def test_repair_mends_changed_missing_and_misdated_rows(ledger_with_entries, students):
    behind_the_ledgers_back(
        "UPDATE payments_balance SET paid = 999, charge_count = 7 WHERE student_id = %s",
        [students[0].pk],
    )
    behind_the_ledgers_back("DELETE FROM payments_balance WHERE student_id = %s", [students[2].pk])
    behind_the_ledgers_back(
        "UPDATE payments_balance SET due_on = %s WHERE student_id = %s",
        [ledger_with_entries.due_on, students[3].pk],
    )
    with pytest.raises(CommandError):
        verify()

    output = verify("--repair")
    assert output.count("REPAIRED") == 3
    assert "no balance row" in output
    assert "repaired from the entries" in output

    assert "every balance matches" in verify()
    row = Balance.objects.get(student=students[0], term=ledger_with_entries)
    assert (row.paid, row.charge_count, row.balance, row.state) == (
        Decimal("80.00"),
        1,
        Decimal("40.00"),
        "PARTIAL",
    )
    assert Balance.objects.get(student=students[2]).balance == Decimal("100.00")
    assert Balance.objects.get(student=students[3]).due_on == ledger_with_entries.due_on + (
        timedelta(days=20)
    )


def test_it_shows_progress_batch_by_batch(ledger_with_entries, make_students):
    make_students(7)
    output = verify("--batch-size", "5")
    assert "checking 12 students" in output
    assert "5/12 students checked" in output and "10/12" in output and "12/12" in output


def test_one_term_can_be_checked_and_an_unknown_one_is_refused(ledger_with_entries):
    assert "every balance matches" in verify("--term", str(ledger_with_entries.pk))
    with pytest.raises(CommandError, match="No term has id 999") as refused:
        verify("--term", "999")
    assert refused.value.returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--term", "abc"], "argument --term"), (["--batch-size", "0"], "argument --batch-size")],
)
def test_bad_arguments_exit_with_code_2(args, message):
    proc = subprocess.run(
        [sys.executable, "manage.py", "verify_ledger", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
