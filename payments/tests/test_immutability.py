from decimal import Decimal

import pytest

from payments import ledger
from payments.models import Charge, ImmutableEntryError, Payment, PaymentReversal


@pytest.fixture
def payment(billed_term, student, pay):
    return pay(student, billed_term, "80.00")


@pytest.mark.django_db
def test_a_payment_cannot_be_edited(payment):
    payment.amount = Decimal("1.00")
    with pytest.raises(ImmutableEntryError):
        payment.save()
    payment.refresh_from_db()
    assert payment.amount == Decimal("80.00")


@pytest.mark.django_db
def test_a_payment_cannot_be_deleted(payment):
    with pytest.raises(ImmutableEntryError):
        payment.delete()
    assert Payment.objects.filter(pk=payment.pk).exists()


@pytest.mark.django_db
def test_payments_cannot_be_deleted_or_updated_in_bulk(payment):
    with pytest.raises(ImmutableEntryError):
        Payment.objects.all().delete()
    with pytest.raises(ImmutableEntryError):
        Payment.objects.filter(pk=payment.pk).update(amount=Decimal("1.00"))
    with pytest.raises(ImmutableEntryError):
        Payment.objects.bulk_update([payment], ["amount"])
    payment.refresh_from_db()
    assert payment.amount == Decimal("80.00")


@pytest.mark.django_db
def test_charges_and_reversals_are_append_only_too(payment, staff_user):
    reversal = ledger.void_payment(payment=payment, reason="Mistake", by=staff_user)
    with pytest.raises(ImmutableEntryError):
        reversal.delete()
    with pytest.raises(ImmutableEntryError):
        Charge.objects.all().delete()
    with pytest.raises(ImmutableEntryError):
        Charge.objects.update(amount=Decimal("0"))
    assert PaymentReversal.objects.count() == 1
    assert Charge.objects.count() == 5


@pytest.mark.django_db
def test_a_student_with_payments_cannot_be_deleted(payment, student):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        student.delete()
    assert Payment.objects.filter(pk=payment.pk).exists()
