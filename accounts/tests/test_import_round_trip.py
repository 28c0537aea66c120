"""Export → import is a no-op for every kind, in CSV and XLSX; and each kind imports."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.imports.run import KINDS, export_school, import_school
from accounts.roles import LECTURERS_GROUP, lecturers_group
from accounts.tests.files import csv_bytes
from attendance.models import Course, Enrollment, Student
from outbox.models import OutboundEmail
from payments import ledger
from payments.models import Payment

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "students": list(Student.objects.order_by("pk").values()),
        "users": list(get_user_model().objects.order_by("pk").values()),
        "courses": list(Course.objects.order_by("pk").values()),
        "teaching": sorted(Course.lecturers.through.objects.values_list("course_id", "user_id")),
        "enrollments": list(Enrollment.objects.order_by("pk").values()),
        "payments": list(Payment.objects.order_by("pk").values()),
        "groups": sorted(
            get_user_model().groups.through.objects.values_list("user_id", "group_id")
        ),
        "mail": OutboundEmail.objects.count(),
    }


@pytest.fixture
def school(students, course, other_course, lecturer, other_lecturer, billed_term, ada):
    lecturers_group().user_set.add(lecturer, other_lecturer)
    course.lecturers.add(other_lecturer)
    # Awkward values: a formula-looking name, accents, a leading minus.
    Student.objects.filter(pk=students[1].pk).update(last_name="=1+2", first_name="Zoë")
    Student.objects.filter(pk=students[2].pk).update(last_name="-Smith")
    ledger.record_payment(
        student=students[0],
        term=billed_term,
        amount="80.00",
        method="cash",
        by=None,
        reference="RCPT-1",
    )
    ledger.record_payment(
        student=ada,
        term=billed_term,
        amount="12.50",
        method="mobile_money",
        by=None,
        reference="=RCPT-2",
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_exporting_then_importing_changes_nothing(school, kind, fmt):
    data = export_school(kind=kind, fmt=fmt)
    before = snapshot()
    result = import_school(kind=kind, data=data, filename=f"{kind}.{fmt}", dry_run=False)
    assert result.ok, [str(e) for e in result.errors]
    assert result.counts["unchanged"] > 0
    assert result.counts["new"] == result.counts["changed"] == 0
    assert snapshot() == before


def test_a_csv_export_escapes_formulas_for_spreadsheets(school):
    text = export_school(kind="students", fmt="csv").decode("utf-8")
    assert text.startswith("\ufeffstudent_number,first_name,last_name,email\r\n")
    assert ",'=1+2," in text and ",'-Smith," in text


def test_lecturers_join_the_lecturers_group_and_are_invited(db):
    data = csv_bytes("username,first_name,last_name,email", "grace,Grace,Hopper,grace@example.com")
    result = import_school(kind="lecturers", data=data, filename="l.csv", dry_run=False)
    assert result.applied and result.done == {"logins": 1, "invited": 1}
    grace = get_user_model().objects.get(username="grace")
    assert grace.groups.filter(name=LECTURERS_GROUP).exists()
    assert not grace.has_usable_password()


def test_an_existing_user_listed_as_lecturer_is_given_the_role(lecturer):
    data = csv_bytes("username,first_name,last_name,email", "lecturer,,,")
    # Names left blank stay blank; joining the group is the change.
    result = import_school(kind="lecturers", data=data, filename="l.csv", dry_run=False)
    [outcome] = result.outcomes
    assert outcome.status == "changed" and outcome.changes["role"] == ("", "Lecturer")
    assert lecturer.groups.filter(name=LECTURERS_GROUP).exists()


def test_courses_get_exactly_the_listed_lecturers(course, lecturer, other_lecturer):
    lecturers_group().user_set.add(lecturer, other_lecturer)
    data = csv_bytes("code,name,lecturers", "MATH101,Calculus One,other_lecturer", "CS1,Code,")
    result = import_school(kind="courses", data=data, filename="c.csv", dry_run=False)
    assert result.counts == {"new": 1, "changed": 1, "unchanged": 0, "error": 0}
    course.refresh_from_db()
    assert course.title == "Calculus One"
    assert list(course.lecturers.values_list("username", flat=True)) == ["other_lecturer"]
    assert Course.objects.get(code="CS1").lecturers.count() == 0


def test_enrollments_are_added_once(students, other_course):
    data = csv_bytes("student_number,course_code", "S00000,HIST201", "S00001,MATH101")
    result = import_school(kind="enrollments", data=data, filename="e.csv", dry_run=False)
    assert result.counts == {"new": 1, "changed": 0, "unchanged": 1, "error": 0}
    assert other_course.enrollments.filter(student=students[0]).exists()


def test_payments_go_through_the_ledger_and_the_reference_makes_them_idempotent(
    students, billed_term, staff_user
):
    data = csv_bytes(
        "student_number,amount,method,reference,paid_on",
        "S00000,80,Cash,BANK-1,2026-01-10",
        "S00001,40.50,bank_transfer,BANK-2,10/01/2026",
    )
    result = import_school(
        kind="payments", data=data, filename="p.csv", dry_run=False, by=staff_user
    )
    assert result.counts["new"] == 2
    first = Payment.objects.get(reference="BANK-1")
    assert first.amount == 80 and first.method == "cash" and first.recorded_by == staff_user
    assert first.term == billed_term and first.idempotency_key is not None
    again = import_school(kind="payments", data=data, filename="p.csv", dry_run=False)
    assert again.counts == {"new": 0, "changed": 0, "unchanged": 2, "error": 0}
    assert Payment.objects.count() == 2


def test_the_command_exports_nothing_but_imports_with_a_progress_bar(tmp_path, capsys, db):
    path = tmp_path / "students.csv"
    path.write_bytes(csv_bytes("student_number,first_name,last_name,email", "S1,Ada,Lovelace,"))
    call_command("import_school", "--kind", "students", str(path), "--dry-run")
    out, err = capsys.readouterr()
    assert "1 new, 0 changed, 0 unchanged, 0 with errors" in out and "Dry run" in out
    assert "1/1 rows" in err and "#" in err
    assert not Student.objects.exists()
    call_command("import_school", "--kind", "students", str(path))
    assert Student.objects.filter(student_number="S1").exists()


def test_lecturers_join_the_group_in_user_order(db):
    """Concurrent imports insert group rows in one order, so they wait rather than deadlock
    (Django's own add() inserts in a set's order: 9 before 2)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    for pk, name in [(9, "nine"), (2, "two")]:
        User.objects.create(pk=pk, username=name)
    data = csv_bytes("username,first_name,last_name,email", "nine,,,", "two,,,")
    with CaptureQueriesContext(connection) as queries:
        result = import_school(kind="lecturers", data=data, filename="l.csv", dry_run=False)
    assert result.applied
    [insert] = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("INSERT") and 'INTO "auth_user_groups"' in q["sql"]
    ]
    # PostgreSQL's bulk insert unnests arrays; SQLite's lists VALUES.
    unnested = re.search(r"UNNEST\(\('\{([\d,]+)\}'", insert)
    if unnested:
        users = [int(pk) for pk in unnested.group(1).split(",")]
    else:
        users = [int(pk) for pk, _group in re.findall(r"\((\d+), (\d+)\)", insert)]
    assert users == [2, 9], insert
