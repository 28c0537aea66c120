from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import ledger
from payments.models import Term


@pytest.fixture
def billed_term(students):
    """The active term, fee 120.00, billed to `students`."""
    today = timezone.localdate()
    term = Term.objects.create(
        name="Second Term",
        year=today.year,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=60),
        fee=Decimal("120.00"),
        due_on=today + timedelta(days=30),
    )
    term = ledger.activate_term(term=term)
    ledger.bill_term(term=term)
    return term
