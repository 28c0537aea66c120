"""Records that change between an import's check of the file and its writes."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from accounts.imports.run import KINDS, ImportConflict, import_school
from accounts.tests.files import csv_bytes
from attendance.models import Student
from payments.models import Payment
from payments.tests.builders import current_term

PAYMENTS = "student_number,amount,method,reference,paid_on"


@pytest.fixture
def term(db):
    """The active term, not billed: a student without charges may still be deleted."""
    return current_term()


def _payments(students) -> bytes:
    paid_on = timezone.localdate() - timedelta(days=1)
    return csv_bytes(
        PAYMENTS, *[f"{s.student_number},10.00,cash,R{i},{paid_on}" for i, s in enumerate(students)]
    )


def _after_planning(monkeypatch, kind: str, step) -> None:
    """Run `step` once, between the next import's check of the file and its writes,
    as another request could."""
    spec = KINDS[kind]
    pending = [step]

    def plan(table, **kwargs):
        planned = spec.plan(table, **kwargs)
        while pending:
            pending.pop()()
        return planned

    monkeypatch.setitem(KINDS, kind, replace(spec, plan=plan))


def test_a_student_deleted_while_their_payments_are_imported_is_a_conflict(
    monkeypatch, students, term
):
    _after_planning(
        monkeypatch, "payments", lambda: Student.objects.filter(pk=students[2].pk).delete()
    )
    with pytest.raises(ImportConflict, match="deleted while it was being imported"):
        import_school(kind="payments", data=_payments(students), filename="p.csv", dry_run=False)
    assert not Payment.objects.exists()


def test_payments_recorded_since_the_check_are_reported_unchanged(monkeypatch, students, term):
    """The same file confirmed twice at once: the second to write wrote nothing."""
    data = _payments(students)
    first = []
    _after_planning(
        monkeypatch,
        "payments",
        lambda: first.append(
            import_school(kind="payments", data=data, filename="p.csv", dry_run=False)
        ),
    )
    second = import_school(kind="payments", data=data, filename="p.csv", dry_run=False)
    assert first[0].counts["new"] == 5
    assert second.applied
    assert (second.counts["new"], second.counts["unchanged"]) == (0, 5)
    assert Payment.objects.count() == 5


def _database_refuses(sqlstate: str):
    def apply(plan, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                f"DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '{sqlstate}'; END $$"
            )

    return apply


@pytest.mark.postgres
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
def test_a_deadlock_or_serialization_failure_while_writing_is_a_conflict(
    monkeypatch, students, term, sqlstate
):
    monkeypatch.setitem(
        KINDS, "payments", replace(KINDS["payments"], apply=_database_refuses(sqlstate))
    )
    with pytest.raises(ImportConflict, match="Import the file again") as conflict:
        import_school(kind="payments", data=_payments(students), filename="p.csv", dry_run=False)
    assert isinstance(conflict.value.__cause__, OperationalError)


@pytest.mark.postgres
def test_another_database_failure_while_writing_is_not_a_conflict(monkeypatch, students, term):
    monkeypatch.setitem(
        KINDS, "payments", replace(KINDS["payments"], apply=_database_refuses("57014"))
    )
    with pytest.raises(OperationalError):
        import_school(kind="payments", data=_payments(students), filename="p.csv", dry_run=False)
