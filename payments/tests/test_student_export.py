import csv
import io

import pytest
from django.urls import reverse

from attendance.models import Student

URL = reverse("payments:student-export")


def _rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.django_db
def test_the_csv_honours_the_filters(client, staff_user, billed_term, students, pay):
    pay(students[0], billed_term, "80.00")
    pay(students[1], billed_term, "150.00")
    client.force_login(staff_user)
    response = client.get(URL, {"status": "PARTIAL"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, *rows = _rows(response)
    assert header[-5:] == ["term", "charged", "paid", "balance", "status"]
    assert [(r[0], r[-2], r[-1]) for r in rows] == [
        (students[0].student_number, "40.00", "PARTIAL")
    ]
    _header, *rows = _rows(client.get(URL, {"status": "CREDIT"}))
    assert [(r[0], r[-2]) for r in rows] == [(students[1].student_number, "-30.00")]
    _header, *rows = _rows(client.get(URL, {"q": students[2].last_name}))
    assert [r[0] for r in rows] == [students[2].student_number]


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
def test_a_lecturers_csv_has_no_fee_columns(client, lecturer, billed_term, students):
    client.force_login(lecturer)
    header, *rows = _rows(client.get(URL))
    assert "balance" not in header and "status" not in header
    assert len(rows) == 5


@pytest.mark.django_db
def test_anonymous_cannot_export(client, students):
    assert client.get(URL).status_code == 302
