import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import ledger
from payments.models import Payment
from payments.selectors import FeeStatus, fee_summary


@pytest.mark.django_db
def test_the_old_systems_example_gives_balance_40_partial(billed_term, student, pay):
    pay(student, billed_term, "80.00")
    summary = fee_summary(student=student, term=billed_term)
    assert summary.balance == Decimal("40.00")
    assert summary.status == FeeStatus.PARTIAL


@pytest.mark.django_db
def test_it_stores_who_recorded_it_and_makes_a_reference(billed_term, student, staff_user):
    result = ledger.record_payment(
        student=student, term=billed_term, amount="50", method="mobile_money", by=staff_user
    )
    assert result.created
    payment = Payment.objects.get()
    assert payment.amount == Decimal("50.00")
    assert payment.recorded_by == staff_user
    assert payment.reference.startswith("RC-")


@pytest.mark.django_db
def test_the_same_idempotency_key_records_one_payment(billed_term, student, staff_user):
    key = uuid.uuid4()
    kwargs = dict(student=student, term=billed_term, amount="80.00", method="cash", by=staff_user)
    first = ledger.record_payment(**kwargs, idempotency_key=key)
    second = ledger.record_payment(**kwargs, idempotency_key=key)
    assert first.created and not second.created
    assert second.payment.pk == first.payment.pk
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_key_used_for_another_student_is_refused(billed_term, students, staff_user):
    key = uuid.uuid4()
    ledger.record_payment(
        student=students[0],
        term=billed_term,
        amount="1",
        method="cash",
        by=staff_user,
        idempotency_key=key,
    )
    with pytest.raises(ledger.LedgerError):
        ledger.record_payment(
            student=students[1],
            term=billed_term,
            amount="1",
            method="cash",
            by=staff_user,
            idempotency_key=key,
        )
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_duplicate_reference_is_refused(billed_term, students, pay):
    pay(students[0], billed_term, "10", reference="BANK-1")
    with pytest.raises(ledger.DuplicateReference):
        pay(students[1], billed_term, "10", reference="BANK-1")
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-5", "1.005", "abc", "", "NaN", "Infinity", "1e20"])
def test_a_bad_amount_is_refused_and_writes_nothing(billed_term, student, pay, amount):
    with pytest.raises(ledger.LedgerError):
        pay(student, billed_term, amount)
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_payment_in_the_future_is_refused(billed_term, student, pay):
    with pytest.raises(ledger.LedgerError):
        pay(student, billed_term, "10", received_at=timezone.now() + timedelta(days=1))
    assert Payment.objects.count() == 0
