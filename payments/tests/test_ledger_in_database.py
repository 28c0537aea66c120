"""On PostgreSQL the database refuses edits and deletes of ledger rows, raw SQL included."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from payments import ledger
from payments.models import Charge, Payment, PaymentReversal

pytestmark = pytest.mark.postgres


@pytest.fixture
def cashier(make_user):
    return make_user("cashier", staff=True)


@pytest.fixture
def payment(billed_term, student, pay, cashier):
    return pay(student, billed_term, "80.00", by=cashier)


@pytest.fixture
def reversal(billed_term, student, pay, cashier):
    voided = pay(student, billed_term, "15.00", by=cashier)
    return ledger.void_payment(payment=voided, reason="Entered twice", by=cashier)


@pytest.fixture
def adjustment(billed_term, student, cashier):
    return ledger.add_adjustment(
        student=student,
        term=billed_term,
        kind=Charge.Kind.DISCOUNT,
        amount="10.00",
        reason="Sibling discount",
        by=cashier,
    )


def raw_sql(sql: str, params: list) -> None:
    # A savepoint, so the test's transaction survives the refused statement.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_raw_sql_cannot_change_a_payments_amount(payment):
    with pytest.raises(IntegrityError, match="payments_payment refused") as refused:
        raw_sql("UPDATE payments_payment SET amount = 1 WHERE id = %s", [payment.pk])
    assert "never edited or deleted" in str(refused.value)
    assert "record a reversal" in str(refused.value)
    payment.refresh_from_db()
    assert payment.amount == Decimal("80.00")


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Payment, PaymentReversal, Charge])
def test_raw_sql_cannot_delete_a_payment_a_reversal_or_a_charge(
    model, payment, reversal, adjustment
):
    entry = {Payment: payment, PaymentReversal: reversal, Charge: adjustment}[model]
    table = model._meta.db_table
    with pytest.raises(IntegrityError, match=f"DELETE of {table} refused"):
        raw_sql(f"DELETE FROM {table} WHERE id = %s", [entry.pk])
    assert model.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_deleting_a_user_clears_who_recorded_voided_and_charged_but_keeps_the_entries(
    cashier, payment, reversal, adjustment
):
    cashier.delete()

    payment.refresh_from_db()
    reversal.refresh_from_db()
    adjustment.refresh_from_db()
    assert payment.recorded_by is None
    assert payment.amount == Decimal("80.00")
    assert reversal.reversed_by is None
    assert reversal.payment.amount == Decimal("15.00")
    assert adjustment.created_by is None
    assert adjustment.amount == Decimal("-10.00")


@pytest.mark.django_db
def test_clearing_the_user_does_not_let_another_column_change_with_it(payment, cashier):
    with pytest.raises(IntegrityError, match="UPDATE of payments_payment refused"):
        raw_sql(
            "UPDATE payments_payment SET recorded_by_id = NULL, amount = 1 WHERE id = %s",
            [payment.pk],
        )
    payment.refresh_from_db()
    assert payment.recorded_by == cashier
    assert payment.amount == Decimal("80.00")


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_the_ledger(payment, reversal, adjustment):
    # Transactional tests are torn down by this flush (TRUNCATE on PostgreSQL),
    # which row triggers do not see.
    call_command("flush", verbosity=0, interactive=False)
    assert not Payment.objects.exists()
    assert not PaymentReversal.objects.exists()
    assert not Charge.objects.exists()
