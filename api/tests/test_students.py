import pytest

from api.tests.conftest import assert_error
from payments import ledger

URL = "/api/students/"


def _count(response) -> int:
    assert response.status_code == 200, response.content
    return response.json()["count"]


def _numbers(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["student_number"] for row in response.json()["results"]}


def test_staff_see_every_student(client_for, students, other_course, make_students):
    others = make_students(3, course=other_course, prefix="H")
    response = client_for("staff").get(URL)
    assert _numbers(response) == {s.student_number for s in students + others}
    row = next(r for r in response.json()["results"] if r["id"] == students[0].pk)
    assert row["courses"] == ["MATH101"]
    assert row["name"] == students[0].full_name
    # Staff may see fees; with no active term there are none to show.
    assert (row["balance"], row["status"]) == (None, None)


def test_those_who_may_see_fees_get_balance_and_status(client_for, students, billed_term):
    ledger.record_payment(
        student=students[0], term=billed_term, amount="80.00", method="cash", by=None
    )
    ledger.record_payment(
        student=students[1], term=billed_term, amount="120.00", method="cash", by=None
    )
    for actor in ("staff", "office"):
        rows = {r["id"]: r for r in client_for(actor).get(URL).json()["results"]}
        assert (rows[students[0].pk]["balance"], rows[students[0].pk]["status"]) == (
            "40.00",
            "PARTIAL",
        )
        assert rows[students[1].pk]["status"] == "PAID"
        assert (rows[students[2].pk]["balance"], rows[students[2].pk]["status"]) == (
            "120.00",
            "UNPAID",
        )


def test_a_lecturer_gets_no_fee_columns(client_for, students, billed_term):
    row = client_for("lecturer").get(URL).json()["results"][0]
    assert "balance" not in row and "status" not in row


def test_it_filters_by_fee_status(client_for, students, billed_term):
    ledger.record_payment(
        student=students[0], term=billed_term, amount="80.00", method="cash", by=None
    )
    client = client_for("office")
    assert _numbers(client.get(URL, {"status": "PARTIAL"})) == {students[0].student_number}
    assert len(_numbers(client.get(URL, {"status": "UNPAID"}))) == 4


def test_every_status_filter_reads_the_balance_rows(
    client_for, students, billed_term, make_students
):
    from datetime import timedelta

    from payments.models import Term

    Term.objects.filter(pk=billed_term.pk).update(due_on=billed_term.starts_on)
    billed_term.refresh_from_db()
    ledger.save_term(term=billed_term)  # the due date passed: owing is overdue
    ledger.extend_due_date(
        student=students[3],
        term=billed_term,
        due_on=billed_term.ends_on + timedelta(days=1),
        reason="Plan",
    )
    [newcomer] = make_students(1, prefix="N")
    for student, amount in [(students[0], "120.00"), (students[1], "150.00"), (students[2], "9")]:
        ledger.record_payment(
            student=student, term=billed_term, amount=amount, method="cash", by=None
        )
    client = client_for("office")
    expected = {
        "PAID": students[0],
        "CREDIT": students[1],
        "OVERDUE": students[2],
        "UNPAID": students[3],
        "NOT_BILLED": newcomer,
    }
    for status, student in expected.items():
        assert _numbers(client.get(URL, {"status": status})) == (
            {student.student_number}
            if status != "OVERDUE"
            else {students[2].student_number, students[4].student_number}
        ), status
    assert _numbers(client.get(URL, {"status": "PARTIAL"})) == set()
    row = next(r for r in client.get(URL, {"status": "CREDIT"}).json()["results"])
    assert (row["balance"], row["status"]) == ("-30.00", "CREDIT")  # the API's shape, unchanged


def test_a_fee_filter_is_refused_to_those_who_may_not_see_fees(client_for, students):
    assert_error(client_for("lecturer").get(URL, {"status": "PAID"}), 403, "permission_denied")


def test_a_lecturer_sees_only_the_students_in_their_courses(
    client_for, students, other_course, make_students
):
    make_students(3, course=other_course, prefix="H")
    assert _numbers(client_for("lecturer").get(URL)) == {s.student_number for s in students}


def test_it_searches_by_name_and_number(client_for, students):
    client = client_for("staff")
    assert _numbers(client.get(URL, {"search": students[2].student_number})) == {
        students[2].student_number
    }
    assert _numbers(client.get(URL, {"search": students[3].last_name.upper()})) == {
        students[3].student_number
    }
    assert _numbers(client.get(URL, {"search": "nobody-has-this"})) == set()


@pytest.mark.parametrize(
    "search", ["ada lovelace", "Lovelace Ada", "countess@analytical.example", "ada analytical"]
)
def test_it_finds_a_student_when_every_word_matches(client_for, ada, search):
    response = client_for("lecturer").get(URL, {"search": search})
    assert _numbers(response) == {ada.student_number}


def test_a_search_that_matches_nothing_is_an_empty_list(client_for, ada):
    response = client_for("staff").get(URL, {"search": "ada babbage"})
    assert response.json()["count"] == 0
    assert _numbers(response) == set()


def test_a_blank_search_filters_nothing(client_for, ada):
    assert _count(client_for("staff").get(URL, {"search": "   "})) == 6


def test_it_filters_by_course_and_active(client_for, students, other_course, make_students):
    others = make_students(2, course=other_course, prefix="H")
    students[0].is_active = False
    students[0].save(update_fields=["is_active"])
    client = client_for("staff")
    assert _numbers(client.get(URL, {"course": other_course.pk})) == {
        s.student_number for s in others
    }
    assert _numbers(client.get(URL, {"active": "false"})) == {students[0].student_number}
    assert len(_numbers(client.get(URL, {"active": "true"}))) == 6


@pytest.mark.parametrize(
    "params",
    [
        {"course": "x"},
        {"course": "0"},
        {"active": "maybe"},
        {"search": "a" * 101},
        {"status": "broke"},
    ],
)
def test_it_rejects_invalid_filters(client_for, students, params):
    assert_error(client_for("staff").get(URL, params), 400, "invalid")


ARABIC_INDIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda pk: f"0_{pk}",
        lambda pk: f" {pk}",
        lambda pk: f"{pk}.0",
        lambda pk: f"+{pk}",
        lambda pk: str(pk).translate(ARABIC_INDIC),
    ],
)
def test_a_course_id_that_only_python_would_read_is_refused(client_for, course, students, spelling):
    assert client_for("staff").get(URL, {"course": str(course.pk)}).status_code == 200
    body = assert_error(
        client_for("staff").get(URL, {"course": spelling(course.pk)}), 400, "invalid"
    )
    assert "course" in body["fields"]


def test_a_nul_character_in_the_search_is_a_400(client_for, students):
    assert_error(client_for("staff").get(URL, {"search": "a\x00b"}), 400, "invalid")


@pytest.mark.parametrize("n", [5, 50])
def test_its_query_count_is_flat(
    client_for, course, make_students, billed_term, n, django_assert_num_queries
):
    make_students(n, course=course)
    client = client_for("staff")
    # Token and its stamp, staff check, active term, count, page with fees, the page's courses.
    with django_assert_num_queries(6):
        response = client.get(URL)
    assert response.json()["count"] == n + 5
    with django_assert_num_queries(6):
        response = client.get(URL, {"search": "first last s"})
    assert response.json()["count"] == n + 5


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("lecturer", 200),
        ("staff", 200),
        ("other_lecturer", 200),
        ("office", 200),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, students, actor, status):
    response = client_for(actor).get(URL)
    if status == 200:
        assert response.status_code == 200
        expected = 0 if actor == "other_lecturer" else 5
        assert response.json()["count"] == expected
    else:
        body = assert_error(response, status)
        assert "results" not in body
