import io
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate

from attendance.models import Student
from payments.demo import seed_fees
from payments.models import Charge, DueDateExtension, Payment, PaymentReversal, Term
from payments.permissions import can_record_payments
from payments.selectors import annotate_fees, fee_summary


def _counts():
    return (
        Term.objects.count(),
        Charge.objects.count(),
        Payment.objects.count(),
        PaymentReversal.objects.count(),
        DueDateExtension.objects.count(),
    )


@pytest.mark.django_db
def test_the_demo_shows_every_status_and_the_old_systems_example(make_students):
    make_students(40)
    out = io.StringIO()
    seed_fees(stdout=out)
    term = Term.objects.get(is_active=True)
    assert str(term) == "Second Term (2026)" and term.fee == Decimal("120.00")
    statuses = set(
        annotate_fees(Student.objects.all(), term=term).values_list("fee_status", flat=True)
    )
    assert {"UNPAID", "PARTIAL", "PAID", "CREDIT", "OVERDUE"} <= statuses
    first = Student.objects.order_by("student_number").first()
    summary = fee_summary(student=first, term=term)
    assert (summary.balance, summary.status) == (Decimal("40.00"), "PARTIAL")
    assert "office / office" in out.getvalue()
    office = authenticate(username="office", password="office")
    assert office is not None and can_record_payments(office) and not office.is_staff


@pytest.mark.django_db
def test_running_the_demo_twice_changes_nothing(make_students):
    make_students(12)
    seed_fees()
    before = _counts()
    seed_fees()
    assert _counts() == before
    assert before[2] > 0 and before[3] == 1


@pytest.mark.django_db
def test_the_demo_keeps_an_active_term_chosen_in_admin(make_term, make_students):
    make_students(3)
    seed_fees()
    other = make_term("Third Term")
    seed_fees()
    other.refresh_from_db()
    assert other.is_active
    assert Term.objects.filter(is_active=True).count() == 1
