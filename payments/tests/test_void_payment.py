from decimal import Decimal

import pytest

from payments import ledger
from payments.models import PaymentReversal
from payments.selectors import FeeStatus, fee_summary, statement


@pytest.mark.django_db
def test_a_voided_payment_no_longer_counts_but_stays_on_the_statement(
    billed_term, student, pay, staff_user
):
    payment = pay(student, billed_term, "80.00")
    ledger.void_payment(payment=payment, reason="Keyed twice", by=staff_user)
    summary = fee_summary(student=student, term=billed_term)
    assert (summary.balance, summary.status) == (Decimal("120.00"), FeeStatus.UNPAID)
    kinds = [line.kind for line in statement(student=student, term=billed_term)]
    assert kinds == ["charge", "payment", "reversal"]
    assert statement(student=student, term=billed_term)[-1].balance == Decimal("120.00")
    reversal = PaymentReversal.objects.get()
    assert (reversal.reason, reversal.reversed_by) == ("Keyed twice", staff_user)


@pytest.mark.django_db
def test_a_payment_is_voided_once(billed_term, student, pay, staff_user):
    payment = pay(student, billed_term, "80.00")
    ledger.void_payment(payment=payment, reason="Wrong student", by=staff_user)
    with pytest.raises(ledger.AlreadyVoided):
        ledger.void_payment(payment=payment, reason="Again", by=staff_user)
    assert PaymentReversal.objects.count() == 1


@pytest.mark.django_db
def test_a_void_needs_a_reason(billed_term, student, pay, staff_user):
    payment = pay(student, billed_term, "80.00")
    with pytest.raises(ledger.LedgerError):
        ledger.void_payment(payment=payment, reason="  ", by=staff_user)
    assert not PaymentReversal.objects.exists()
