"""Races the database must decide: run on PostgreSQL with real row locks."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from attendance.models import Student
from conftest import run_at_once
from payments import ledger
from payments.models import Payment, Term
from payments.selectors import fee_summary

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup_ledger():
    today = timezone.localdate()
    user = get_user_model().objects.create_user("cashier", is_staff=True)
    students = [
        Student.objects.create(student_number=f"C{i}", first_name="C", last_name=str(i))
        for i in range(2)
    ]
    term = Term.objects.create(
        name="Race term",
        year=2026,
        starts_on=today,
        ends_on=today + timedelta(days=90),
        fee=Decimal("1000.00"),
        due_on=today + timedelta(days=30),
        is_active=True,
    )
    ledger.bill_term(term=term)
    return user, students, term


def test_twenty_concurrent_payments_all_count(setup_ledger):
    user, students, term = setup_ledger
    amounts = [Decimal(f"{i + 1}.{i:02d}") for i in range(20)]
    results = run_at_once(
        20,
        lambda i: ledger.record_payment(
            student=students[0], term=term, amount=amounts[i], method="card", by=user
        ),
    )
    assert all(isinstance(r, ledger.RecordResult) and r.created for r in results), results
    summary = fee_summary(student=students[0], term=term)
    assert summary.paid == sum(amounts)
    assert summary.balance == Decimal("1000.00") - sum(amounts)
    assert Payment.objects.count() == 20


def test_a_concurrent_double_submit_makes_one_payment(setup_ledger):
    user, students, term = setup_ledger
    key = uuid.uuid4()
    results = run_at_once(
        8,
        lambda i: ledger.record_payment(
            student=students[0],
            term=term,
            amount="80.00",
            method="cash",
            by=user,
            idempotency_key=key,
        ),
    )
    assert all(isinstance(r, ledger.RecordResult) for r in results), results
    assert sum(r.created for r in results) == 1
    assert {r.payment.pk for r in results} == {Payment.objects.get().pk}


def test_a_duplicate_reference_race_makes_one_payment(setup_ledger):
    user, students, term = setup_ledger
    results = run_at_once(
        2,
        lambda i: ledger.record_payment(
            student=students[i],
            term=term,
            amount="10.00",
            method="bank_transfer",
            by=user,
            reference="BANK-77",
        ),
    )
    assert sum(isinstance(r, ledger.RecordResult) for r in results) == 1
    assert sum(isinstance(r, ledger.DuplicateReference) for r in results) == 1
    assert Payment.objects.filter(reference="BANK-77").count() == 1


def test_concurrent_activations_leave_one_active_term(setup_ledger):
    _user, _students, first = setup_ledger
    today = timezone.localdate()
    others = [
        Term.objects.create(
            name=f"Term {i}",
            year=2027,
            starts_on=today,
            ends_on=today,
            fee=Decimal("1"),
            due_on=today,
        )
        for i in range(4)
    ]

    def activate(i):
        # Connected first, so the four updates meet rather than the four logins.
        connection.ensure_connection()
        ready.wait()
        return ledger.activate_term(term=others[i])

    # Several rounds: one round meets in the bad order only now and then.
    for _round in range(10):
        ready = threading.Barrier(4, timeout=10)
        results = run_at_once(4, activate)
        # Each activation takes its turn: none deadlocks and none is refused.
        assert all(isinstance(r, Term) for r in results), results
        assert Term.objects.filter(is_active=True).count() == 1
    first.refresh_from_db()
    assert not first.is_active


def test_concurrent_billing_charges_each_student_once(setup_ledger):
    _user, _students, term = setup_ledger
    Student.objects.create(student_number="C9", first_name="New", last_name="Student")
    results = run_at_once(4, lambda i: ledger.bill_term(term=term))
    assert sorted(results) == [0, 0, 0, 1]
    assert term.charges.count() == 3


def test_two_payments_racing_past_what_the_terms_total_holds_record_one(setup_ledger):
    user, students, term = setup_ledger
    half = (ledger.MAX_AMOUNT / 2 + 1).quantize(Decimal("0.01"))
    results = run_at_once(
        2,
        lambda i: ledger.record_payment(
            student=students[0], term=term, amount=half, method="card", by=user
        ),
    )
    recorded = [r for r in results if isinstance(r, ledger.RecordResult)]
    refused = [r for r in results if isinstance(r, ledger.LedgerError)]
    assert (len(recorded), len(refused)) == (1, 1), results
    assert refused[0].code == "invalid_amount"
    assert fee_summary(student=students[0], term=term).paid == half
    assert Payment.objects.count() == 1
