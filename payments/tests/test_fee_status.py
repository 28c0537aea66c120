from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from attendance.models import Student
from payments.selectors import FeeStatus, annotate_fees, fee_status, fee_summary

TODAY = timezone.localdate()


@pytest.mark.parametrize(
    ("billed", "charged", "paid", "due_in_days", "status"),
    [
        (False, "0", "0", 5, FeeStatus.NOT_BILLED),
        (True, "120", "0", 5, FeeStatus.UNPAID),
        (True, "120", "80", 5, FeeStatus.PARTIAL),
        (True, "120", "120", 5, FeeStatus.PAID),
        (True, "120", "150", 5, FeeStatus.CREDIT),
        (True, "120", "0", -1, FeeStatus.OVERDUE),
        (True, "120", "80", -1, FeeStatus.OVERDUE),
        (True, "120", "120", -1, FeeStatus.PAID),
        (True, "120", "80", 0, FeeStatus.PARTIAL),
        (False, "0", "10", 5, FeeStatus.CREDIT),
    ],
)
def test_the_status_follows_from_the_balance_and_due_date(
    billed, charged, paid, due_in_days, status
):
    assert (
        fee_status(
            billed=billed,
            charged=Decimal(charged),
            paid=Decimal(paid),
            due_on=TODAY + timedelta(days=due_in_days),
            today=TODAY,
        )
        == status
    )


@pytest.mark.django_db
def test_an_agreed_extension_keeps_a_student_out_of_overdue(make_term, students, pay):
    from payments import ledger

    term = make_term(due_on=TODAY - timedelta(days=3))
    ledger.bill_term(term=term)
    pay(students[0], term, "80.00")
    pay(students[1], term, "80.00")
    ledger.extend_due_date(
        student=students[0], term=term, due_on=TODAY + timedelta(days=10), reason="Plan"
    )
    assert fee_summary(student=students[0], term=term).status == FeeStatus.PARTIAL
    assert fee_summary(student=students[1], term=term).status == FeeStatus.OVERDUE
    statuses = dict(annotate_fees(Student.objects.all(), term=term).values_list("pk", "fee_status"))
    assert statuses[students[2].pk] == FeeStatus.OVERDUE


@pytest.mark.django_db
def test_cents_that_floats_would_lose_still_make_paid(billed_term, student, pay):
    from payments import ledger

    ledger.add_adjustment(
        student=student, term=billed_term, kind="discount", amount="119.70", reason="x"
    )
    pay(student, billed_term, "0.10")
    pay(student, billed_term, "0.20")
    summary = fee_summary(student=student, term=billed_term)
    assert (summary.balance, summary.status) == (Decimal("0.00"), FeeStatus.PAID)


@pytest.mark.django_db
def test_voiding_payments_a_float_would_not_sum_exactly_leaves_nothing_paid(term, student, pay):
    from payments import ledger
    from payments.models import Balance

    first, second = pay(student, term, "0.01"), pay(student, term, "2.00")
    ledger.void_payment(payment=second, reason="Twice", by=None)
    ledger.void_payment(payment=first, reason="Twice", by=None)
    row = Balance.objects.get(student=student, term=term)
    assert (row.paid, row.balance, row.state) == (Decimal("0.00"), Decimal("0.00"), "NOT_BILLED")
