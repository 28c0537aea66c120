from decimal import Decimal

import pytest
from django.db import IntegrityError

from payments import ledger
from payments.models import Charge


@pytest.mark.django_db
def test_it_charges_every_active_student_the_term_fee(term, students):
    students[4].is_active = False
    students[4].save()
    assert ledger.bill_term(term=term) == 4
    charges = Charge.objects.filter(term=term, kind=Charge.Kind.TERM_FEE)
    assert charges.count() == 4
    assert {c.amount for c in charges} == {Decimal("120.00")}
    assert not charges.filter(student=students[4]).exists()


@pytest.mark.django_db
def test_billing_twice_charges_nobody_twice(term, students, make_students):
    assert ledger.bill_term(term=term) == 5
    assert ledger.bill_term(term=term) == 0
    make_students(2)
    assert ledger.bill_term(term=term) == 2
    assert Charge.objects.filter(term=term).count() == 7


@pytest.mark.django_db
def test_the_database_refuses_a_second_term_fee(billed_term, student):
    with pytest.raises(IntegrityError):
        Charge.objects.create(
            student=student,
            term=billed_term,
            kind=Charge.Kind.TERM_FEE,
            amount=Decimal("120.00"),
            created_at=billed_term.charges.first().created_at,
        )
