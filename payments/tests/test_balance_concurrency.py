"""Concurrent ledger writes on PostgreSQL: every balance row still equals its entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from attendance.models import Student
from conftest import run_at_once
from payments import ledger
from payments.balances import find_drift
from payments.models import Balance, Payment, Term
from payments.selectors import fee_summary

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def school():
    today = timezone.localdate()
    user = get_user_model().objects.create_user("cashier", is_staff=True)
    students = [
        Student.objects.create(student_number=f"R{i}", first_name="R", last_name=str(i))
        for i in range(12)
    ]
    term = Term.objects.create(
        name="Race term",
        year=2026,
        starts_on=today,
        ends_on=today + timedelta(days=90),
        fee=Decimal("500.00"),
        due_on=today + timedelta(days=30),
        is_active=True,
    )
    return user, students, term


def test_payments_voids_adjustments_and_billing_at_once_keep_rows_equal(school):
    user, students, term = school
    ledger.bill_term(term=term)
    late_joiners = [
        Student.objects.create(student_number=f"L{i}", first_name="L", last_name=str(i))
        for i in range(4)
    ]
    to_void = [
        ledger.record_payment(
            student=students[i % 2], term=term, amount="7.00", method="cash", by=user
        ).payment
        for i in range(4)
    ]
    everyone = [s.pk for s in students + late_joiners]

    def work(i: int):
        if i == 0:
            return ledger.bill_term(term=term)  # charges the late joiners
        if i < 5:
            return ledger.void_payment(payment=to_void[i - 1], reason="Bounced", by=user)
        if i < 8:
            return ledger.add_adjustment(
                student=students[i % 2], term=term, kind="extra", amount="3.33", reason="Trip"
            )
        if i < 10:
            return ledger.extend_due_date(
                student=late_joiners[i - 8],
                term=term,
                due_on=term.due_on + timedelta(days=9),
                reason="Plan",
            )
        # Payments for the students being billed right now, and for the busy two.
        student = late_joiners[i % 4] if i % 3 == 0 else students[i % 2]
        return ledger.record_payment(
            student=student, term=term, amount=f"{i}.25", method="card", by=user
        )

    results = run_at_once(24, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == 4
    assert find_drift(term=term, student_ids=everyone) == []
    assert Balance.objects.filter(term=term).count() == 16
    paid = sum(
        (p.amount for p in Payment.objects.filter(student=students[0], reversal__isnull=True)),
        Decimal(0),
    )
    summary = fee_summary(student=students[0], term=term)
    assert summary.paid == paid
    assert summary.charged == Decimal("503.33")  # the fee and the one trip (i = 6)


def test_twenty_concurrent_payments_for_one_student_all_reach_the_row(school):
    user, students, term = school
    ledger.bill_term(term=term)
    amounts = [Decimal(f"{i + 1}.{i:02d}") for i in range(20)]
    results = run_at_once(
        20,
        lambda i: ledger.record_payment(
            student=students[3], term=term, amount=amounts[i], method="card", by=user
        ),
    )
    assert all(isinstance(r, ledger.RecordResult) for r in results), results
    row = Balance.objects.get(student=students[3], term=term)
    assert row.paid == sum(amounts)
    assert row.balance == Decimal("500.00") - sum(amounts)
    assert row.state == "PARTIAL"


def test_two_first_entries_for_a_student_race_to_one_row(school):
    """The unique (student, term) pair decides: one row, both amounts on it."""
    user, students, term = school
    newcomer = students[5]

    def work(i: int):
        if i == 0:
            return ledger.record_payment(
                student=newcomer, term=term, amount="40.00", method="cash", by=user
            )
        return ledger.add_adjustment(
            student=newcomer, term=term, kind="extra", amount="15.00", reason="Lab fee"
        )

    results = run_at_once(2, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    row = Balance.objects.get(student=newcomer, term=term)
    assert (row.adjustments, row.paid, row.balance, row.state) == (
        Decimal("15.00"),
        Decimal("40.00"),
        Decimal("-25.00"),
        "CREDIT",
    )


def test_a_terms_new_due_date_and_entries_at_once_keep_rows_equal(school):
    """Moving the due date while payments and extensions land: no deadlock, no drift."""
    user, students, term = school
    ledger.bill_term(term=term)

    def work(i: int):
        if i == 0:
            term.due_on = term.due_on - timedelta(days=10)
            return ledger.save_term(term=term)
        if i < 4:
            return ledger.extend_due_date(
                student=students[i],
                term=term,
                due_on=term.ends_on,
                reason="Plan",
            )
        return ledger.record_payment(
            student=students[i % 12], term=term, amount="5.00", method="cash", by=user
        )

    results = run_at_once(12, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert find_drift(term=term, student_ids=[s.pk for s in students]) == []
    due = dict(Balance.objects.filter(term=term).values_list("student_id", "due_on"))
    assert {due[s.pk] for s in students[1:4]} == {term.ends_on}
    assert {due[s.pk] for s in students[4:]} == {term.due_on}
