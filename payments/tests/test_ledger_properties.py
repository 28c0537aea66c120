"""For any sequence of charges, payments and voids, the database sums exactly."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attendance.models import Student
from payments import ledger
from payments.models import Charge, Payment
from payments.selectors import annotate_fees, fee_status, fee_summary

cents = st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100)
step = st.one_of(
    st.tuples(st.just("extra"), cents),
    st.tuples(st.just("discount"), cents),
    st.tuples(st.just("pay"), cents),
    st.tuples(st.just("void"), st.integers(min_value=0, max_value=20)),
)


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fee=st.integers(min_value=0, max_value=10**8).map(lambda n: Decimal(n) / 100),
    billed=st.booleans(),
    steps=st.lists(step, max_size=12),
    overdue=st.booleans(),
)
def test_balance_is_the_exact_sum_and_status_follows(
    make_term, staff_user, fee, billed, steps, overdue
):
    today = timezone.localdate()
    due_on = today - timedelta(days=1) if overdue else today + timedelta(days=1)
    try:
        with transaction.atomic():
            term = make_term(fee=str(fee), due_on=due_on)
            student = Student.objects.create(student_number="P1", first_name="P", last_name="Q")
            charged = Decimal("0")
            if billed:
                ledger.bill_term(term=term)
                charged += fee
            payments: list[tuple[Payment, Decimal]] = []
            voided: set[int] = set()
            for kind, value in steps:
                if kind == "pay":
                    payment = ledger.record_payment(
                        student=student, term=term, amount=value, method="cash", by=staff_user
                    ).payment
                    payments.append((payment, value))
                elif kind == "void":
                    if payments:
                        payment, _ = payments[value % len(payments)]
                        if payment.pk not in voided:
                            ledger.void_payment(payment=payment, reason="test", by=staff_user)
                            voided.add(payment.pk)
                else:
                    ledger.add_adjustment(
                        student=student, term=term, kind=kind, amount=value, reason="test"
                    )
                    charged += value if kind == "extra" else -value
            paid = sum((v for p, v in payments if p.pk not in voided), Decimal("0"))
            has_charges = Charge.objects.filter(student=student).exists()

            summary = fee_summary(student=student, term=term)
            assert summary.charged == charged
            assert summary.paid == paid
            assert summary.balance == charged - paid
            expected = fee_status(
                billed=has_charges, charged=charged, paid=paid, due_on=due_on, today=today
            )
            assert summary.status == expected
            row = annotate_fees(Student.objects.filter(pk=student.pk), term=term).get()
            assert row.fee_balance == charged - paid
            assert row.fee_status == expected
            raise Rollback
    except Rollback:
        pass
