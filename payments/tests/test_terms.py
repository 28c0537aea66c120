from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments import ledger
from payments.models import Term


def _term(name: str, **kwargs) -> Term:
    today = timezone.localdate()
    return Term.objects.create(
        name=name,
        year=2026,
        starts_on=today,
        ends_on=today + timedelta(days=90),
        fee=Decimal("120.00"),
        due_on=today + timedelta(days=30),
        **kwargs,
    )


@pytest.mark.django_db
def test_the_database_allows_one_active_term():
    _term("First Term", is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        _term("Second Term", is_active=True)
    assert Term.objects.filter(is_active=True).count() == 1


@pytest.mark.django_db
def test_activating_a_term_deactivates_the_other():
    first = _term("First Term", is_active=True)
    second = _term("Second Term")
    ledger.activate_term(term=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_active and not first.is_active


@pytest.mark.django_db
def test_a_term_cannot_end_before_it_starts_or_cost_less_than_nothing():
    today = timezone.localdate()
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.create(
            name="Backwards",
            year=2026,
            starts_on=today,
            ends_on=today - timedelta(days=1),
            fee=Decimal("1"),
            due_on=today,
        )
    negative = _term("Negative")
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.filter(pk=negative.pk).update(fee=Decimal("-1"))
    assert not Term.objects.filter(name="Backwards").exists()
    negative.refresh_from_db()
    assert negative.fee == Decimal("120.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"due_on": date(9999, 12, 31)},
        {"due_on": date(1, 1, 1)},
        {"starts_on": date(1899, 12, 31)},
        {"ends_on": date(3000, 1, 1)},
        {"year": 3000},
    ],
)
def test_a_terms_year_and_dates_stay_within_the_days_a_record_may_name(change):
    # A due date of 9999-12-31 left no room for an extension, and seeding the
    # demo on top of it failed adding days to it.
    term = _term("Range")
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.filter(pk=term.pk).update(**change)
    term.refresh_from_db()
    assert term.due_on == timezone.localdate() + timedelta(days=30)
