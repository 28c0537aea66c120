"""/me/: the student's courses and rates, recent sessions, fees and devices, in constant queries."""

import html
import re

import pytest
from django.urls import reverse

from attendance.devices import register_device
from payments import ledger

ME = "/me/"


def text(response) -> str:
    """The page's main text, tags dropped and spaces squeezed."""
    main = response.content.decode().split("<main>", 1)[1].split("</main>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def test_a_student_sees_each_course_with_its_rate_excused_left_out(
    pupil_client, ada, course, add_sessions
):
    # 2 present + 1 late attended, 1 absent counted, 2 excused left out: 3 of 4 = 75%.
    add_sessions(course, ada, ["present", "late", "absent", "excused", "present", "excused"])
    response = pupil_client.get(ME)
    assert response.status_code == 200
    page = text(response)
    assert "MATH101" in page and "Calculus I" in page
    assert "75%" in page
    assert "2 present, 1 late, 1 absent, 2 excused" in page


def test_recent_sessions_show_the_students_status_newest_first(
    pupil_client, ada, course, add_sessions
):
    add_sessions(course, ada, ["absent", "late", "excused", "present"])
    html = pupil_client.get(ME).content.decode()
    statuses = re.findall(r'class="att-status att-(\w+)"', html)
    assert statuses == ["present", "excused", "late", "absent"]
    assert 'class="session-actions"' in html


def test_recent_sessions_stop_at_ten_and_link_to_all_of_them(
    pupil_client, ada, course, add_sessions
):
    add_sessions(course, ada, ["present"] * 12)
    response = pupil_client.get(ME)
    assert response.content.decode().count('class="session-row"') == 10
    assert f'href="{reverse("portal:sessions")}"' in response.content.decode()
    all_sessions = pupil_client.get(reverse("portal:sessions"))
    assert all_sessions.content.decode().count('class="session-row"') == 12


def test_the_sessions_list_is_paged(pupil_client, ada, course, add_sessions):
    add_sessions(course, ada, ["present"] * 30, days_ago=40)
    first = pupil_client.get(reverse("portal:sessions")).content.decode()
    second = pupil_client.get(reverse("portal:sessions") + "?page=2").content.decode()
    assert first.count('class="session-row"') == 25 and second.count('class="session-row"') == 5
    assert "Page 2 of 2" in second


def test_another_students_sessions_never_show(pupil_client, ada, students, course, add_sessions):
    add_sessions(course, students[0], ["absent"])
    assert 'class="session-row"' not in pupil_client.get(ME).content.decode()


def test_fees_show_billed_paid_balance_status_and_receipt_links(
    pupil_client, ada, term, staff_user
):
    payment = ledger.record_payment(
        student=ada, term=term, amount="80.00", method="cash", by=staff_user
    ).payment
    response = pupil_client.get(ME)
    page = text(response)
    assert "120.00" in page and "80.00" in page and "40.00" in page
    assert "PARTIAL" in page
    assert f'href="{reverse("payments:payment-receipt", args=[payment.pk])}"' in (
        response.content.decode()
    )


def test_an_overpayment_reads_as_credit(pupil_client, ada, term, staff_user):
    ledger.record_payment(student=ada, term=term, amount="150.00", method="cash", by=staff_user)
    page = text(pupil_client.get(ME))
    assert "CREDIT" in page
    assert "Credit" in page and "30.00" in page
    assert "-30.00" not in page


def test_an_unpaid_term(pupil_client, ada, term):
    page = text(pupil_client.get(ME))
    assert "UNPAID" in page and "No payments recorded for this term yet." in page


def test_helpful_empty_states_without_courses_term_or_device(client, make_user, make_students):
    [lonely] = make_students(1)
    user = make_user("lonely")
    lonely.user = user
    lonely.save(update_fields=["user"])
    client.force_login(user)
    page = text(client.get(ME))
    assert "You are not enrolled in any course yet." in page
    assert "No class sessions recorded for you yet." in page
    assert "No term is open yet" in page
    assert "No phone registered." in page


def test_the_students_active_devices_are_listed(pupil_client, ada):
    register_device(student=ada, name="Ada's Pixel")
    page = text(pupil_client.get(ME))
    assert "Ada's Pixel" in page and "not used yet" in page


def test_a_user_who_is_not_a_student_gets_a_clear_page(client, lecturer, staff_user):
    for user in (lecturer, staff_user):
        client.force_login(user)
        response = client.get(ME)
        assert response.status_code == 200
        assert "This page is for students" in response.content.decode()
    for page in ("portal:sessions", "portal:devices"):
        assert "This page is for students" in client.get(reverse(page)).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for page in ("portal:me", "portal:sessions", "portal:devices"):
        response = client.get(reverse(page))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.fixture
def full_student(ada, course, add_sessions, term, staff_user, make_courses):
    """Ada with sessions in every course, two payments and two devices."""

    def grow(n_courses: int):
        for extra in make_courses(ada, n_courses - 1):
            add_sessions(extra, ada, ["present", "absent"])
        add_sessions(course, ada, ["late", "excused"])
        for amount in ("10.00", "20.00"):
            ledger.record_payment(
                student=ada, term=term, amount=amount, method="cash", by=staff_user
            )
        register_device(student=ada, name="one")
        return ada

    return grow


# user, student, enrollments, counts per course, recent sessions, active term,
# payments, balance row, devices; and the session unless Redis caches it.
ME_QUERIES = 10  # the excuse requests of the recent sessions included


@pytest.mark.parametrize("n_courses", [1, 5])
def test_me_costs_the_same_queries_with_one_or_five_courses(
    pupil_client, full_student, n_courses, django_assert_num_queries, settings
):
    full_student(n_courses)
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    with django_assert_num_queries(ME_QUERIES + session_queries):
        response = pupil_client.get(ME)
    assert response.status_code == 200
    assert response.content.decode().count('class="course-name"') == n_courses


def test_a_recent_absence_offers_an_excuse_request_and_then_shows_it_pending(
    pupil_client, ada, course, add_sessions
):
    from attendance.models import AttendanceRecord
    from excuses.submissions import submit_excuse

    # Two absences: one a month ago (past the 14-day window), one three days ago.
    add_sessions(course, ada, ["absent"], days_ago=30)
    add_sessions(course, ada, ["absent", "present"], days_ago=3)
    old, recent, present = AttendanceRecord.objects.filter(student=ada).order_by(
        "session__started_at"
    )
    page = pupil_client.get(ME).content.decode()
    assert reverse("excuses:new", args=[recent.pk]) in page
    assert reverse("excuses:new", args=[old.pk]) not in page
    assert reverse("excuses:new", args=[present.pk]) not in page

    submit_excuse(record=recent, student=ada, reason="Flu", attachment=None)
    page = pupil_client.get(ME).content.decode()
    assert reverse("excuses:new", args=[recent.pk]) not in page
    assert "Excuse requested" in page


def test_a_course_below_its_threshold_says_at_risk_in_words(
    pupil_client, ada, course, add_sessions
):
    course.warn_below_percent, course.warn_after_sessions = 75, 4
    course.save()
    add_sessions(course, ada, ["present", "absent", "absent"])
    assert "At risk" not in text(pupil_client.get(ME))  # three sessions: too few to judge
    add_sessions(course, ada, ["present"], days_ago=2)
    assert "At risk: below 75%" in text(pupil_client.get(ME))  # 2 of 4: 50 %
