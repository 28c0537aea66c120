"""The migration that adds balance rows fills them from the entries already there."""

from decimal import Decimal

import pytest

from payments import ledger
from payments.balances import find_drift
from payments.models import Balance

BEFORE = [("payments", "0002_ledger_append_only_in_database")]
AFTER = [("payments", "0003_balance_rows_kept_by_the_ledger")]


@pytest.mark.django_db(transaction=True)
def test_existing_entries_get_their_balance_rows(billed_term, students, pay, migrator):
    pay(students[0], billed_term, "80.00")
    voided = pay(students[1], billed_term, "120.00")
    ledger.void_payment(payment=voided, reason="Bounced", by=None)
    ledger.add_adjustment(
        student=students[2], term=billed_term, kind="scholarship", amount="130", reason="Merit"
    )
    executor = migrator
    executor.migrate(BEFORE)  # drops the table, rows and all
    executor.loader.build_graph()
    executor.migrate(AFTER)

    assert Balance.objects.filter(term=billed_term).count() == 5
    assert find_drift(term=billed_term, student_ids=[s.pk for s in students]) == []
    states = dict(Balance.objects.values_list("student_id", "state"))
    assert states[students[0].pk] == "PARTIAL"
    assert states[students[1].pk] == "UNPAID"
    assert states[students[2].pk] == "CREDIT"
    assert Balance.objects.get(student=students[2]).balance == Decimal("-10.00")
