from decimal import Decimal

import pytest

from payments import ledger
from payments.models import Charge
from payments.selectors import FeeStatus, fee_summary


@pytest.mark.django_db
def test_a_discount_is_a_negative_charge_with_its_reason(billed_term, student, staff_user):
    charge = ledger.add_adjustment(
        student=student,
        term=billed_term,
        kind=Charge.Kind.DISCOUNT,
        amount="20.00",
        reason="Sibling discount",
        by=staff_user,
    )
    charge.refresh_from_db()
    assert charge.amount == Decimal("-20.00")
    assert charge.reason == "Sibling discount"
    assert fee_summary(student=student, term=billed_term).balance == Decimal("100.00")


@pytest.mark.django_db
def test_a_full_scholarship_makes_the_term_paid(billed_term, student):
    ledger.add_adjustment(
        student=student,
        term=billed_term,
        kind=Charge.Kind.SCHOLARSHIP,
        amount="120.00",
        reason="Merit scholarship",
    )
    summary = fee_summary(student=student, term=billed_term)
    assert (summary.balance, summary.status) == (Decimal("0.00"), FeeStatus.PAID)


@pytest.mark.django_db
def test_an_extra_charge_adds_to_the_balance(billed_term, student):
    ledger.add_adjustment(
        student=student, term=billed_term, kind="extra", amount="15.50", reason="Lab kit"
    )
    assert fee_summary(student=student, term=billed_term).balance == Decimal("135.50")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "amount", "reason"),
    [
        ("discount", "10", ""),
        ("term_fee", "10", "x"),
        ("extra", "-5", "x"),
        ("extra", "1.234", "x"),
    ],
)
def test_a_bad_adjustment_is_refused_and_writes_nothing(billed_term, student, kind, amount, reason):
    with pytest.raises(ledger.LedgerError):
        ledger.add_adjustment(
            student=student, term=billed_term, kind=kind, amount=amount, reason=reason
        )
    assert Charge.objects.filter(student=student).count() == 1
