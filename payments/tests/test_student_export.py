import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from attendance.models import Student
from payments import ledger

URL = reverse("payments:student-export")
XLSX = reverse("payments:student-export-xlsx")


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _rows(response):
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(_body(response).decode())))


def _sheet(response):
    workbook = load_workbook(io.BytesIO(_body(response)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


@pytest.mark.django_db
def test_the_csv_honours_the_filters(client, staff_user, billed_term, students, pay):
    pay(students[0], billed_term, "80.00")
    pay(students[1], billed_term, "150.00")
    client.force_login(staff_user)
    response = client.get(URL, {"status": "PARTIAL"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, *rows = _rows(response)
    assert header[-6:] == ["term", "charged", "paid", "balance", "status", "due_on"]
    assert [(r[0], r[-3], r[-2]) for r in rows] == [
        (students[0].student_number, "40.00", "PARTIAL")
    ]
    _header, *rows = _rows(client.get(URL, {"status": "CREDIT"}))
    # A number in a data file: a credit keeps its minus sign.
    assert [(r[0], r[-3]) for r in rows] == [(students[1].student_number, "-30.00")]
    _header, *rows = _rows(client.get(URL, {"q": students[2].last_name}))
    assert [r[0] for r in rows] == [students[2].student_number]


@pytest.mark.django_db
def test_the_csv_follows_the_chosen_order(client, staff_user, billed_term, students, pay):
    pay(students[3], billed_term, "100.00")
    pay(students[4], billed_term, "200.00")
    client.force_login(staff_user)
    _header, *rows = _rows(client.get(URL, {"sort": "balance"}))
    assert [r[0] for r in rows[:2]] == [students[4].student_number, students[3].student_number]


@pytest.mark.django_db
def test_cells_that_look_like_formulas_are_defused(client, staff_user, students):
    Student.objects.filter(pk=students[0].pk).update(
        first_name='=HYPERLINK("http://x")', last_name="@SUM(A1)"
    )
    client.force_login(staff_user)
    _header, *rows = _rows(client.get(URL, {"q": students[0].student_number}))
    assert rows[0][1] == '\'=HYPERLINK("http://x")'
    assert rows[0][2] == "'@SUM(A1)"


@pytest.mark.django_db
def test_the_xlsx_has_the_same_rows_with_numbers_and_no_formulas(
    client, fees_officer, billed_term, students, pay
):
    pay(students[1], billed_term, "150.00")
    Student.objects.filter(pk=students[0].pk).update(first_name="=1+1", last_name="-2")
    client.force_login(fees_officer)
    response = client.get(XLSX)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == (
        f'attachment; filename="students-{billed_term.name.replace(" ", "_")}_2026.xlsx"'
    )
    header, *rows = _sheet(response)
    assert header == [r for r in _rows(client.get(URL))[0]]
    by_number = {row[0]: row for row in rows}
    assert by_number[students[0].student_number][1:3] == ["'=1+1", "'-2"]
    credit = by_number[students[1].student_number]
    assert credit[6:10] == [120, 150, -30, "CREDIT"]
    assert len(rows) == 5


@pytest.mark.django_db
def test_the_xlsx_leaves_out_characters_a_workbook_cannot_hold(
    client, fees_officer, billed_term, students
):
    # A name edited in admin may hold one; openpyxl refused the whole export (500).
    Student.objects.filter(pk=students[0].pk).update(first_name="A\x01B\x1b")
    client.force_login(fees_officer)
    response = client.get(XLSX)
    assert response.status_code == 200
    _header, *rows = _sheet(response)
    assert {row[0]: row for row in rows}[students[0].student_number][1] == "AB"


@pytest.mark.django_db
def test_a_lecturers_exports_have_no_fee_columns(client, lecturer, billed_term, students):
    client.force_login(lecturer)
    header, *rows = _rows(client.get(URL))
    assert "balance" not in header and "status" not in header
    assert len(rows) == 5
    header, *rows = _sheet(client.get(XLSX))
    assert "balance" not in header and len(rows) == 5
    # Asking to sort by balance is ignored, not a leak of who owes most.
    _header, *rows = _rows(client.get(URL, {"sort": "-balance"}))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [URL, XLSX])
def test_anonymous_cannot_export(client, students, url):
    assert client.get(url).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("url", [URL, XLSX])
def test_an_export_costs_the_same_queries_for_5_and_300_students(
    client, staff_user, billed_term, students, make_students, url
):
    client.force_login(staff_user)

    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            _body(client.get(url))
        return len(ctx.captured_queries)

    small = measure()
    more = make_students(295)
    ledger.bill_term(term=billed_term)
    for student in more[:40]:
        ledger.record_payment(
            student=student, term=billed_term, amount=Decimal("10"), method="cash", by=None
        )
    assert measure() == small
