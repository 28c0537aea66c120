"""Every kind of bad row: the report names row, column and reason, and nothing is written."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.imports.run import import_school
from accounts.roles import lecturers_group
from accounts.tests.files import csv_bytes
from attendance.models import Course, Enrollment, Student
from outbox.models import OutboundEmail
from payments import ledger
from payments.models import Payment

pytestmark = pytest.mark.django_db

STUDENTS = "student_number,first_name,last_name,email"
LECTURERS = "username,first_name,last_name,email"
COURSES = "code,name,lecturers"
ENROLLMENTS = "student_number,course_code"
PAYMENTS = "student_number,amount,method,reference,paid_on"
TOMORROW = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

CASES = {
    "bad email": (
        "students",
        [STUDENTS, "S1,Ada,Lovelace,ada@", "S2,Bo,Li,"],
        (2, "email", "'ada@' is not a valid email address"),
    ),
    "duplicate student": (
        "students",
        [STUDENTS, "S1,Ada,Lovelace,", "S1,Ada,King,"],
        (3, "student_number", "appears again in this file (first on row 2)"),
    ),
    "too long": (
        "students",
        [STUDENTS, f"S1,{'A' * 101},Lovelace,"],
        (2, "first_name", "Too long: 101 characters, at most 100"),
    ),
    "missing value": ("students", [STUDENTS, "S1,,Lovelace,"], (2, "first_name", "required")),
    "login name taken": (
        "students",
        [STUDENTS, "lecturer,Ada,Lovelace,"],
        (2, "student_number", "already belongs to someone else"),
    ),
    "not a login name": (
        "students",
        [STUDENTS, "S 1,Ada,Lovelace,"],
        (2, "student_number", "letters, digits"),
    ),
    "extra cells": (
        "students",
        [STUDENTS, "S1,Ada,Lovelace,,surprise"],
        (2, "-", "more cells than the file has columns"),
    ),
    "lecturer bad email": (
        "lecturers",
        [LECTURERS, "grace,Grace,Hopper,not-an-email"],
        (2, "email", "not a valid email address"),
    ),
    "student as lecturer": (
        "lecturers",
        [LECTURERS, "pupil,Pu,Pil,"],
        (2, "username", "is a student's login"),
    ),
    "duplicate lecturer": (
        "lecturers",
        [LECTURERS, "grace,G,H,", "grace,G,H,"],
        (3, "username", "appears again"),
    ),
    "unknown lecturer": (
        "courses",
        [COURSES, "CS101,Programming,lecturer nobody"],
        (2, "lecturers", "No lecturer has the username 'nobody'"),
    ),
    "course code too long": (
        "courses",
        [COURSES, f"{'C' * 21},Long,"],
        (2, "code", "Too long: 21 characters, at most 20"),
    ),
    "duplicate course": (
        "courses",
        [COURSES, "CS101,A,", "CS101,B,"],
        (3, "code", "appears again"),
    ),
    "unknown course": (
        "enrollments",
        [ENROLLMENTS, "S00000,NOPE1"],
        (2, "course_code", "No course has the code 'NOPE1'"),
    ),
    "unknown student": (
        "enrollments",
        [ENROLLMENTS, "S99999,MATH101"],
        (2, "student_number", "No student has the number 'S99999'"),
    ),
    "duplicate enrollment": (
        "enrollments",
        [ENROLLMENTS, "S00001,MATH101", "S00001,MATH101"],
        (3, "student_number", "appears again"),
    ),
    "bad amount": (
        "payments",
        [PAYMENTS, "S00000,eighty,cash,R1,2026-01-10"],
        (2, "amount", "Enter the amount as a number"),
    ),
    "negative amount": (
        "payments",
        [PAYMENTS, "S00000,-5,cash,R1,2026-01-10"],
        (2, "amount", "more than zero"),
    ),
    "bad method": (
        "payments",
        [PAYMENTS, "S00000,10,barter,R1,2026-01-10"],
        (2, "method", "'barter' is not one of"),
    ),
    "bad date": (
        "payments",
        [PAYMENTS, "S00000,10,cash,R1,10.01.2026"],
        (2, "paid_on", "is not a date"),
    ),
    "future date": (
        "payments",
        [PAYMENTS, f"S00000,10,cash,R1,{TOMORROW}"],
        (2, "paid_on", "cannot be received in the future"),
    ),
    "duplicate reference": (
        "payments",
        [PAYMENTS, "S00000,10,cash,R1,2026-01-10", "S00001,10,cash,R1,2026-01-10"],
        (3, "reference", "appears again"),
    ),
    "reference of another payment": (
        "payments",
        [PAYMENTS, "S00001,10,cash,USED-1,2026-01-10"],
        (2, "reference", "already a different payment"),
    ),
    "null character in a name": (
        "students",
        [STUDENTS, "S1,A\x00da,Lovelace,", "S2,Bo,Li,"],
        (2, "first_name", "control character (U+0000)"),
    ),
    "null character in a student number": (
        "students",
        [STUDENTS, "S\x001,Ada,Lovelace,"],
        (2, "student_number", "control character (U+0000)"),
    ),
    "escape in a course name": (
        "courses",
        [COURSES, "CS101,Pro\x1bgramming,"],
        (2, "name", "control character (U+001B)"),
    ),
    "line separator in a username": (
        "lecturers",
        [LECTURERS, "gra\u2028ce,Grace,Hopper,"],
        (2, "username", "control character (U+2028)"),
    ),
    "null character in a reference": (
        "payments",
        [PAYMENTS, "S00000,10,cash,R\x001,2026-01-10"],
        (2, "reference", "control character (U+0000)"),
    ),
    "amount with a thousands separator": (
        "payments",
        [PAYMENTS, "S00000,1_000,cash,R1,2026-01-10"],
        (2, "amount", "Enter the amount as a number"),
    ),
    "amount in other digits": (
        "payments",
        [PAYMENTS, "S00000,\u0665\u0660,cash,R1,2026-01-10"],
        (2, "amount", "Enter the amount as a number"),
    ),
    "amount with an exponent": (
        "payments",
        [PAYMENTS, "S00000,1E+2,cash,R1,2026-01-10"],
        (2, "amount", "Enter the amount as a number"),
    ),
    "amount of thirty digits": (
        "payments",
        [PAYMENTS, f"S00000,{10**30},cash,R1,2026-01-10"],
        (2, "amount", "at most 9999999999.99"),
    ),
    "payments past what the ledger holds": (
        "payments",
        [PAYMENTS, "S00002,9999999999.99,cash,R1,2026-01-10", "S00002,0.01,cash,R2,2026-01-10"],
        (3, "amount", "payments of student S00002 for the term past 9999999999.99"),
    ),
    "payment before 1900": (
        "payments",
        [PAYMENTS, "S00000,10,cash,R1,0001-01-01"],
        (2, "paid_on", "cannot be dated before 01 January 1900"),
    ),
    "unknown payer": (
        "payments",
        [PAYMENTS, "S77777,10,cash,R1,2026-01-10"],
        (2, "student_number", "No student has the number"),
    ),
}


def _counts():
    return (
        Student.objects.count(),
        get_user_model().objects.count(),
        Course.objects.count(),
        Enrollment.objects.count(),
        Payment.objects.count(),
        OutboundEmail.objects.count(),
        list(Student.objects.values_list("first_name", flat=True)),
    )


@pytest.fixture
def school(students, course, lecturer, billed_term, make_user):
    lecturers_group().user_set.add(lecturer)
    pupil = make_user("pupil")
    Student.objects.create(student_number="P1", first_name="Pu", last_name="Pil", user=pupil)
    ledger.record_payment(
        student=students[0],
        term=billed_term,
        amount="10.00",
        method="cash",
        by=None,
        reference="USED-1",
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_row_is_reported_by_row_column_and_reason_and_nothing_is_written(school, case):
    kind, lines, (row, column, reason) = CASES[case]
    # A good row beside the bad one is not written either: all or nothing.
    before = _counts()
    result = import_school(kind=kind, data=csv_bytes(*lines), filename="f.csv", dry_run=False)
    assert not result.applied
    assert any(e.row == row and e.column == column and reason in e.reason for e in result.errors), [
        str(e) for e in result.errors
    ]
    assert _counts() == before


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (csv_bytes("student_number,first_name,last_name"), "s.csv", "missing: email"),
        (csv_bytes(STUDENTS + ",emial"), "s.csv", "unknown: emial"),
        (b"", "s.csv", "The file is empty"),
        (b"PK\x03\x04 not really a workbook", "s.xlsx", "not a readable XLSX"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "s.csv", "not text in UTF-8 or Windows-1252"),
        (b"a,b", "s.pdf", "Upload a .csv or .xlsx file"),
        (csv_bytes(STUDENTS, 'S1,"Ada,Lovelace,'), "s.csv", "malformed"),
        (
            csv_bytes(STUDENTS, "S1,José,Lovelace,") + "S2,Zoë,King,\r\n".encode("cp1252"),
            "s.csv",
            "Line 3 is not UTF-8, but other lines are",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data, filename, message):
    result = import_school(kind="students", data=data, filename=filename, dry_run=False)
    [error] = result.errors
    assert error.row == 0 and message in error.reason
    assert not Student.objects.exists()


def test_more_rows_than_the_limit_are_refused(settings):
    settings.IMPORT_MAX_ROWS = 3
    data = csv_bytes(STUDENTS, *[f"S{i},A,B," for i in range(4)])
    [error] = import_school(kind="students", data=data, filename="s.csv", dry_run=False).errors
    assert "more than 3 rows" in error.reason
    assert not Student.objects.exists()


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.IMPORT_MAX_BYTES = 2048
    data = csv_bytes(STUDENTS, *[f"S{i},Alexandra,Bartholomew," for i in range(100)])
    [error] = import_school(kind="students", data=data, filename="s.csv", dry_run=False).errors
    assert "the limit is" in error.reason


def test_payments_need_an_active_term(students):
    data = csv_bytes(PAYMENTS, "S00000,10,cash,R1,2026-01-10")
    [error] = import_school(kind="payments", data=data, filename="p.csv", dry_run=False).errors
    assert "no active term" in error.reason


def test_a_payment_the_ledger_refuses_while_writing_names_its_row(school, billed_term, students):
    """Paid between the plan and the write: the ledger's words, not "import again"."""
    from accounts.imports import fees
    from accounts.imports.reading import read_table
    from accounts.imports.rows import RowRefused

    data = csv_bytes(PAYMENTS, "S00003,9999999999.00,cash,R-BIG,2026-01-10")
    plan = fees.plan_payments(read_table(data=data, filename="p.csv", columns=fees.COLUMNS))
    assert not plan.errors
    ledger.record_payment(
        student=students[3], term=billed_term, amount="1.00", method="cash", by=None
    )
    with pytest.raises(RowRefused) as refused:
        fees.apply_payments(plan, by=None, base_url="")
    assert (refused.value.error.row, refused.value.error.column) == (2, "amount")
    assert "past 9999999999.99" in refused.value.error.reason


def test_excel_unicode_text_is_read(students):
    data = csv_bytes(STUDENTS, "S1,Zoë,Łukasiewicz,", encoding="utf-16")
    result = import_school(kind="students", data=data, filename="s.csv", dry_run=False)
    assert result.applied, [str(e) for e in result.errors]
    assert Student.objects.get(student_number="S1").last_name == "Łukasiewicz"
