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


@pytest.mark.django_db
def test_a_payment_past_what_the_terms_total_can_hold_is_refused_and_changes_nothing(
    billed_term, student, pay
):
    # Each amount is allowed alone; their sum is more than a money column holds.
    pay(student, billed_term, str(ledger.MAX_AMOUNT))
    before = fee_summary(student=student, term=billed_term)

    with pytest.raises(ledger.LedgerError) as refused:
        pay(student, billed_term, "1.00")

    assert refused.value.code == "invalid_amount"
    assert str(ledger.MAX_AMOUNT) in refused.value.message
    assert Payment.objects.count() == 1
    assert fee_summary(student=student, term=billed_term) == before
    # The ledger goes on: a void still posts.
    ledger.void_payment(payment=Payment.objects.get(), reason="typed twice", by=None)
    assert fee_summary(student=student, term=billed_term).paid == Decimal("0.00")


@pytest.mark.django_db
def test_an_adjustment_past_what_the_terms_total_can_hold_is_refused(billed_term, student):
    from payments.models import Charge

    ledger.add_adjustment(
        student=student, term=billed_term, kind="extra", amount=ledger.MAX_AMOUNT, reason="a"
    )
    charges = Charge.objects.count()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.add_adjustment(
            student=student, term=billed_term, kind="extra", amount="5", reason="b"
        )
    assert refused.value.code == "invalid_amount"
    assert Charge.objects.count() == charges


@pytest.mark.django_db
def test_a_payment_before_1900_is_refused(billed_term, student, pay):
    with pytest.raises(ledger.LedgerError) as refused:
        pay(student, billed_term, "10", received_at=ledger.EARLIEST_PAYMENT - timedelta(seconds=1))
    assert refused.value.code == "invalid_date"
    assert Payment.objects.count() == 0
    pay(student, billed_term, "10", received_at=ledger.EARLIEST_PAYMENT)
    assert Payment.objects.count() == 1
