"""Fixtures for the fee ledger: a billed active term and the people who handle fees."""

from datetime import date

import pytest

from payments import ledger
from payments.models import Term
from payments.permissions import ensure_fees_office_group
from payments.tests.builders import current_term


@pytest.fixture
def make_term(db):
    def make(
        name: str = "Second Term",
        *,
        year: int = 2026,
        fee: str = "120.00",
        due_on: date | None = None,
        active: bool = True,
    ) -> Term:
        return current_term(name, year=year, fee=fee, due_on=due_on, active=active)

    return make


@pytest.fixture
def term(make_term):
    return make_term()


@pytest.fixture
def billed_term(term, students):
    ledger.bill_term(term=term)
    return term


@pytest.fixture
def student(students):
    return students[0]


@pytest.fixture
def fees_officer(make_user):
    user = make_user("office")
    user.groups.add(ensure_fees_office_group())
    return user


@pytest.fixture
def pay(staff_user):
    """Record a payment with the fewest words."""

    def record(student, term, amount: str, **kwargs):
        kwargs.setdefault("method", "cash")
        kwargs.setdefault("by", staff_user)
        return ledger.record_payment(student=student, term=term, amount=amount, **kwargs).payment

    return record
