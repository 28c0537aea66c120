"""The term most tests need: the active one, today inside it, its fee due in 30 days."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from payments import ledger
from payments.models import Term


def current_term(
    name: str = "Second Term",
    *,
    year: int | None = None,
    fee: str = "120.00",
    due_on: date | None = None,
    active: bool = True,
    billed: bool = False,
) -> Term:
    """A term from 30 days ago to 60 days ahead; active unless told not, and billed to
    every active student if `billed`."""
    today = timezone.localdate()
    term = Term.objects.create(
        name=name,
        year=year or today.year,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=60),
        fee=Decimal(fee),
        due_on=due_on or today + timedelta(days=30),
    )
    if active:
        term = ledger.activate_term(term=term)
    if billed:
        ledger.bill_term(term=term)
    return term
