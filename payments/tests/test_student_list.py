from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord, NetworkSession, Student
from payments import ledger

URL = reverse("payments:student-list")


def _record(course, student, status, day):
    now = timezone.now()
    session = NetworkSession.objects.create(
        course=course,
        date=timezone.localdate() - timedelta(days=day),
        started_at=now,
        ended_at=now,
        is_active=False,
        end_reason="ended",
        join_code=f"{day:06d}",
        code_rotated_at=now,
    )
    return AttendanceRecord.objects.create(
        session=session, student=student, status=status, created_at=now, updated_at=now
    )


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_staff_see_balance_and_status(client, staff_user, billed_term, students, pay):
    pay(students[0], billed_term, "80.00")
    client.force_login(staff_user)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "40.00" in body and "PARTIAL" in body
    assert "Balance" in body


@pytest.mark.django_db
def test_a_lecturer_sees_attendance_but_no_fee_columns(
    client, lecturer, course, billed_term, students, make_students
):
    outsider = make_students(1, prefix="Z")[0]
    _record(course, students[0], "present", 1)
    _record(course, students[0], "absent", 2)
    client.force_login(lecturer)
    response = client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Balance" not in body and "UNPAID" not in body
    assert "50%" in body
    assert students[1].student_number in body
    assert outsider.student_number not in body  # not in the lecturer's courses


@pytest.mark.django_db
def test_a_lecturer_granted_the_fees_role_sees_fees(client, lecturer, billed_term, students):
    from payments.permissions import ensure_fees_office_group

    lecturer.groups.add(ensure_fees_office_group())
    client.force_login(lecturer)
    assert "UNPAID" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_it_searches_by_name_and_number(client, staff_user, students):
    client.force_login(staff_user)
    body = client.get(URL, {"q": students[2].student_number}).content.decode()
    assert students[2].full_name in body and students[3].full_name not in body
    body = client.get(URL, {"q": "first3 last3"}).content.decode()
    assert students[3].full_name in body and students[2].full_name not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "q", ["ada lovelace", "Lovelace Ada", "countess@analytical.example", "ada analytical"]
)
def test_it_finds_a_student_when_every_word_matches(client, lecturer, ada, students, q):
    client.force_login(lecturer)
    response = client.get(URL, {"q": q})
    assert list(response.context["page"].object_list) == [ada]
    assert "Ada Lovelace" in response.content.decode()


@pytest.mark.django_db
def test_a_search_that_matches_nothing_says_so(client, staff_user, ada):
    client.force_login(staff_user)
    response = client.get(URL, {"q": "ada babbage"})
    assert response.context["page"].paginator.count == 0
    body = response.content.decode()
    assert "No student matches these filters" in body and "Ada Lovelace" not in body


@pytest.mark.django_db
def test_it_filters_by_status_and_course(
    client, staff_user, billed_term, students, pay, other_course, make_students
):
    pay(students[0], billed_term, "120.00")
    client.force_login(staff_user)
    response = client.get(URL, {"status": "PAID"})
    assert response.context["page"].paginator.count == 1
    assert list(response.context["page"].object_list) == [students[0]]
    [history] = make_students(1, course=other_course, prefix="H")
    response = client.get(URL, {"course": other_course.pk})
    assert list(response.context["page"].object_list) == [history]


@pytest.mark.django_db
def test_a_bad_filter_is_reported_not_crashed(client, staff_user, students):
    client.force_login(staff_user)
    response = client.get(URL, {"status": "BOGUS", "course": "x", "page": "99"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_it_paginates(client, staff_user, make_students):
    make_students(30)
    client.force_login(staff_user)
    first = client.get(URL)
    second = client.get(URL, {"page": 2})
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5


@pytest.mark.django_db
def test_an_empty_roster_says_what_to_do(client, staff_user):
    client.force_login(staff_user)
    assert "No students yet" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_htmx_search_renders_only_the_results(client, staff_user, students):
    client.force_login(staff_user)
    response = client.get(
        URL, {"q": "Last1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="student-results"
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert students[1].full_name in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("user_kind", ["staff", "office", "lecturer"])
def test_the_list_costs_the_same_queries_for_10_and_1000_students(
    client,
    staff_user,
    fees_officer,
    lecturer,
    course,
    term,
    make_students,
    user_kind,
    django_assert_num_queries,
):
    from attendance.models import Enrollment

    user = {"staff": staff_user, "office": fees_officer, "lecturer": lecturer}[user_kind]
    client.force_login(user)

    def measure() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL, {"page": 1})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    make_students(10, course=course)
    ledger.bill_term(term=term)
    small = measure()
    students = make_students(990, course=course)
    ledger.bill_term(term=term)
    for s in students[:50]:
        ledger.record_payment(student=s, term=term, amount="10", method="cash", by=staff_user)
    assert Student.objects.count() == 1000
    assert Enrollment.objects.count() == 1000
    with django_assert_num_queries(small):
        response = client.get(URL, {"page": 1})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1000


@pytest.fixture
def every_status(make_term, students, make_students, pay):
    """One student in each status: due date passed, two on a payment plan."""
    from datetime import timedelta

    term = make_term(due_on=timezone.localdate() - timedelta(days=2))
    ledger.bill_term(term=term)
    [late_joiner] = make_students(1, prefix="N")
    plan = timezone.localdate() + timedelta(days=10)
    for s in students[3:5]:
        ledger.extend_due_date(student=s, term=term, due_on=plan, reason="Plan")
    pay(students[0], term, "120.00")  # PAID
    pay(students[1], term, "150.00")  # CREDIT 30.00
    pay(students[2], term, "20.00")  # OVERDUE (part paid, no plan)
    pay(students[3], term, "20.00")  # PARTIAL, on a plan
    # students[4]: UNPAID on a plan; late_joiner: NOT_BILLED
    return term, {
        "PAID": students[0],
        "CREDIT": students[1],
        "OVERDUE": students[2],
        "PARTIAL": students[3],
        "UNPAID": students[4],
        "NOT_BILLED": late_joiner,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["PAID", "CREDIT", "OVERDUE", "PARTIAL", "UNPAID", "NOT_BILLED"])
def test_every_status_filters_to_its_students(client, fees_officer, every_status, status):
    _term, by_status = every_status
    client.force_login(fees_officer)
    response = client.get(URL, {"status": status})
    assert list(response.context["page"].object_list) == [by_status[status]]


@pytest.mark.django_db
def test_a_credit_reads_as_credit_not_minus(client, fees_officer, every_status):
    client.force_login(fees_officer)
    body = client.get(URL, {"status": "CREDIT"}).content.decode()
    assert "Credit 30.00" in body and "-30.00" not in body


@pytest.mark.django_db
def test_it_sorts_by_balance_both_ways_and_by_name(client, fees_officer, every_status):
    _term, by_status = every_status
    client.force_login(fees_officer)

    def order(sort):
        return list(client.get(URL, {"sort": sort}).context["page"].object_list)

    # 120.00 owed, then two owing 100.00 (by name), ..., the credit last.
    assert order("-balance")[:3] == [by_status[s] for s in ("UNPAID", "OVERDUE", "PARTIAL")]
    assert order("balance")[0] == by_status["CREDIT"]
    assert order("-balance")[-1] == by_status["CREDIT"]
    by_name = order("name")
    assert by_name == sorted(by_name, key=lambda s: (s.last_name, s.first_name))
    assert order("-name") == list(reversed(by_name))


@pytest.mark.django_db
def test_the_office_sees_term_totals_and_the_collection_chart(client, fees_officer, every_status):
    client.force_login(fees_officer)
    response = client.get(URL)
    totals = response.context["totals"]
    # Five billed 120.00; paid 120 + 150 + 20 + 20 = 310.00.
    assert totals.billed == Decimal("600.00")
    assert totals.collected == Decimal("310.00")
    assert totals.outstanding == Decimal("320.00")  # 100 + 100 + 120; credit not netted
    assert totals.credit == Decimal("30.00")
    assert (totals.owing, totals.overdue) == (3, 1)
    body = response.content.decode()
    assert "<svg" in body and 'role="img"' in body and "<desc" in body
    assert "The same figures as a table" in body and "310.00" in body
    assert "style=" not in body and "<script>" not in body.replace(" ", "")


@pytest.mark.django_db
def test_a_lecturer_sees_no_totals_chart_or_fee_sorting(client, lecturer, every_status, course):
    client.force_login(lecturer)
    response = client.get(URL, {"sort": "-balance"})
    body = response.content.decode()
    assert "totals" not in response.context and "chart" not in response.context
    assert "Collected" not in body and "<svg" not in body and "Balance, largest" not in body
    assert "Select a valid choice" in body  # not a choice for them


@pytest.mark.django_db
def test_an_empty_term_says_the_chart_fills_in(client, fees_officer, term):
    client.force_login(fees_officer)
    body = client.get(URL).content.decode()
    assert "No payments recorded for this term yet" in body
