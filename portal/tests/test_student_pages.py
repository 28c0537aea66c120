"""A student's login opens the students' pages and is refused (403) on every other page.

Every URL of the project is classified here: a students' page, or a staff
page (for lecturers, the office or staff). A new page fails the first test
until it is put in one list or the other.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.navigation import STUDENT_NAV
from accounts.student_pages import OWN_CHECKS, STUDENT_NAMESPACES, STUDENT_PAGES
from attendance.models import AttendanceRecord
from payments import ledger

# Every page a student must not open, by URL name.
STAFF_PAGES = {
    # attendance: the dashboard, sessions and registers
    "dashboard",
    "session-start",
    "session-end",
    "session-projector",
    "sessions-refresh",
    "session-list",
    "course-register",
    "course-register-csv",
    "session-detail",
    "records-mark",
    "record-mark",
    # payments: the office's student list, statements, payments
    "payments:student-list",
    "payments:student-export",
    "payments:student-export-xlsx",
    "payments:student-detail",
    "payments:payment-record",
    "payments:adjustment-add",
    "payments:payment-void",
    # timetable: the dashboard's panel and the lecturers' course week
    "timetable:today",
    "timetable:cancel",
    "timetable:restore",
    "timetable:course-week",
    "timetable:extra-class",
    "timetable:late-threshold",
    # portal: the office's device screen
    "portal:student-devices",
    # excuses: the lecturers' queue and decisions
    "excuses:queue",
    "excuses:detail",
    "excuses:decide",
    # reports: the at-risk lists and their exports
    "reports:course-at-risk",
    "reports:course-at-risk-csv",
    "reports:course-at-risk-xlsx",
    "reports:school-at-risk",
    "reports:school-at-risk-csv",
    "reports:school-at-risk-xlsx",
    # analytics: a course's charts and a session's devices over time
    "course-analytics",
    "session-timeline",
}
# Pages outside URL names that are not pages for anyone signed in (probes, the icon).
UNNAMED = {"favicon.ico"}


def named_routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(view name, route) for every URL outside admin/ and api/."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(OWN_CHECKS):
            continue
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            name = f"{namespace}:{inner}".strip(":") if inner else namespace
            yield from named_routes(entry.url_patterns, route, name)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield name, route


def test_every_page_is_either_a_students_page_or_a_staff_page():
    unclassified = []
    for name, route in named_routes():
        if name is None:
            assert route in UNNAMED, route
            continue
        students = name in STUDENT_PAGES or name.split(":")[0] in STUDENT_NAMESPACES
        if students == (name in STAFF_PAGES):
            unclassified.append(name)
    assert unclassified == []


@pytest.fixture
def ids(ada, course, term, staff_user, lecturer):
    """Real ids of the student's own things, so a refusal is not a mere 404."""
    from attendance.sessions import end_session, start_session

    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session, by=lecturer)
    record = AttendanceRecord.objects.get(session=session, student=ada)
    payment = ledger.record_payment(
        student=ada, term=term, amount="10.00", method="cash", by=staff_user
    ).payment
    return {
        "course_id": course.pk,
        "session_id": session.pk,
        "record_id": record.pk,
        "student_id": ada.pk,
        "payment_id": payment.pk,
    }


def url_of(name: str, ids: dict) -> str | None:
    """The page's address with the student's own ids (any id for the rest: the refusal
    comes before the lookup); None for a name no app of this checkout routes."""
    routes = [r for n, r in named_routes() if n == name]
    if not routes:
        return None
    ids = {"excuse_id": 1, **ids}
    kwargs = {key: value for key, value in ids.items() if f":{key}>" in routes[0]}
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name", sorted(STAFF_PAGES))
def test_a_student_is_refused_every_staff_page(pupil_client, ids, name):
    url = url_of(name, ids)
    if url is None:
        pytest.skip(f"{name} is not routed in this checkout")
    assert pupil_client.get(url).status_code == 403, url
    assert pupil_client.post(url, {"reason": "x", "status": "present"}).status_code == 403, url


def test_the_refusal_holds_for_a_session_from_before_the_choice_was_kept(pupil_client, ids):
    session = pupil_client.session
    del session[STUDENT_NAV]
    session.save()
    assert pupil_client.get(reverse("session-list")).status_code == 403
    assert pupil_client.session[STUDENT_NAV] is True


def test_a_student_opens_the_students_pages(pupil_client, ids):
    for url in (
        reverse("portal:me"),
        reverse("portal:sessions"),
        reverse("portal:devices"),
        reverse("device"),
        reverse("timetable:week"),
        reverse("accounts:sessions"),
        reverse("payments:payment-receipt", args=[ids["payment_id"]]),
    ):
        assert pupil_client.get(url).status_code == 200, url


def test_a_student_opens_only_their_own_receipts(pupil_client, ids, students, term, staff_user):
    theirs = ledger.record_payment(
        student=students[0], term=term, amount="10.00", method="cash", by=staff_user
    ).payment
    own = pupil_client.get(reverse("payments:payment-receipt", args=[ids["payment_id"]]))
    assert own.status_code == 200 and f'href="{reverse("portal:me")}"' in own.content.decode()
    assert (
        pupil_client.get(reverse("payments:payment-receipt", args=[theirs.pk])).status_code == 403
    )
    assert pupil_client.get(reverse("payments:payment-receipt", args=[999999])).status_code == 403


def test_lecturers_and_the_office_are_not_affected(client, lecturer, office_user, ids):
    client.force_login(lecturer)
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("course-register", args=[ids["course_id"]])).status_code == 200
    client.force_login(office_user)
    assert client.get(reverse("payments:student-list")).status_code == 200
    receipt = client.get(reverse("payments:payment-receipt", args=[ids["payment_id"]]))
    assert receipt.status_code == 200
    assert reverse("payments:student-detail", args=[ids["student_id"]]) in receipt.content.decode()


def test_a_lecturer_who_is_also_a_student_keeps_the_staff_pages(client, lecturer, ada, course):
    ada.user = lecturer
    ada.save(update_fields=["user"])
    client.force_login(lecturer)
    assert client.get(reverse("session-list")).status_code == 200


def test_a_student_signs_in_to_me_with_my_page_check_in_and_my_week(client, pupil, ada):
    response = client.post(reverse("login"), {"username": "ada", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:me")
    nav = response.content.decode().split("<nav>", 1)[1].split("</nav>", 1)[0]
    for page in ("portal:me", "device", "timetable:week"):
        assert f'href="{reverse(page)}"' in nav
    for page in ("dashboard", "session-list", "payments:student-list"):
        assert f'href="{reverse(page)}"' not in nav
