"""Every role on every excuse page: the student, a classmate, the course's lecturer,
another lecturer, staff and nobody; the forms over HTTP; the lists' query counts."""

import pytest
from django.urls import reverse

from attendance.models import AttendanceChange, AttendanceRecord, NetworkSession
from attendance.sessions import end_session, start_session
from excuses.decisions import decide_excuse
from excuses.models import ExcuseRequest
from excuses.submissions import submit_excuse
from excuses.tests.conftest import PDF, PNG, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def excuse(ada_record, ada):
    return submit_excuse(
        record=ada_record, student=ada, reason="Flu", attachment=upload(PNG, "sick note.png")
    )


@pytest.fixture
def users(ada_user, bob_user, bob, lecturer, other_lecturer, other_course, staff_user):
    return {
        "ada": ada_user,
        "bob": bob_user,
        "lecturer": lecturer,
        "other_lecturer": other_lecturer,
        "staff": staff_user,
    }


def as_user(client, users, who):
    if who != "nobody":
        client.force_login(users[who])
    return client


ROLES = ["nobody", "ada", "bob", "lecturer", "other_lecturer", "staff"]


# --- who reaches what -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "listed"),
    [
        ("nobody", 302, False),
        ("ada", 403, False),
        ("bob", 403, False),
        ("lecturer", 200, True),
        ("other_lecturer", 200, False),
        ("staff", 200, True),
    ],
)
def test_the_queue(client, users, excuse, who, status, listed):
    response = as_user(client, users, who).get(reverse("excuses:queue"))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert (reverse("excuses:detail", args=[excuse.pk]) in html) is listed
        assert ("Ada Lovelace" in html) is listed


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 302),
        ("ada", 403),  # a lecturer's page, refused to students
        ("bob", 403),
        ("lecturer", 200),
        ("other_lecturer", 404),
        ("staff", 200),
    ],
)
def test_the_detail_page(client, users, excuse, who, status):
    response = as_user(client, users, who).get(reverse("excuses:detail", args=[excuse.pk]))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "Flu" in html and 'id="decide-form"' in html
        assert reverse("excuses:attachment", args=[excuse.pk]) in html


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 302),  # to the login page
        ("ada", 403),
        ("bob", 403),
        ("lecturer", 302),  # back to the request's page
        ("other_lecturer", 404),
        ("staff", 302),
    ],
)
def test_deciding(client, users, excuse, ada_record, who, status):
    response = as_user(client, users, who).post(
        reverse("excuses:decide", args=[excuse.pk]), {"decision": "approve", "comment": "ok"}
    )
    assert response.status_code == status
    excuse.refresh_from_db()
    ada_record.refresh_from_db()
    if who in ("lecturer", "staff"):
        assert excuse.state == "approved" and ada_record.status == "excused"
        assert excuse.decided_by == users[who]
    else:
        assert excuse.state == "pending" and ada_record.status == "absent"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 302),
        ("ada", 200),
        ("bob", 404),
        ("lecturer", 200),
        ("other_lecturer", 404),
        ("staff", 200),
    ],
)
def test_the_attachment(client, users, excuse, who, status):
    response = as_user(client, users, who).get(reverse("excuses:attachment", args=[excuse.pk]))
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"] == 'attachment; filename="sick_note.png"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]


def test_no_public_url_serves_the_file(client, users, excuse):
    client.force_login(users["staff"])
    name = excuse.attachment.name
    for path in (f"/{name}", f"/media/{name}"):
        assert client.get(path).status_code == 404


def test_a_request_without_a_file_has_no_attachment_to_download(client, users, bob, bob_record):
    plain = submit_excuse(record=bob_record, student=bob, reason="No file")
    client.force_login(users["bob"])
    assert client.get(reverse("excuses:attachment", args=[plain.pk])).status_code == 404


@pytest.mark.parametrize(
    ("who", "status", "listed"),
    [
        ("nobody", 302, False),
        ("ada", 200, True),
        ("bob", 200, False),
        ("lecturer", 404, False),
        ("other_lecturer", 404, False),
        ("staff", 404, False),
    ],
)
def test_my_requests(client, users, excuse, who, status, listed):
    response = as_user(client, users, who).get(reverse("excuses:mine"))
    assert response.status_code == status
    if status == 200:
        assert (f'id="excuse-{excuse.pk}"' in response.content.decode()) is listed


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 302),
        ("ada", 200),
        ("bob", 404),
        ("lecturer", 404),
        ("other_lecturer", 404),
        ("staff", 404),
    ],
)
def test_the_request_form_is_only_for_the_records_student(client, users, ada_record, who, status):
    url = reverse("excuses:new", args=[ada_record.pk])
    client = as_user(client, users, who)
    assert client.get(url).status_code == status
    response = client.post(url, {"reason": "Someone else's"})
    assert response.status_code == (302 if who in ("ada", "nobody") else status)
    assert ExcuseRequest.objects.count() == (1 if who == "ada" else 0)


# --- the forms over HTTP --------------------------------------------------------------------


def test_a_student_sends_a_request_with_a_pdf_and_sees_it_waiting(
    client, ada_user, ada_record, lecturer
):
    client.force_login(ada_user)
    response = client.post(
        reverse("excuses:new", args=[ada_record.pk]),
        {"reason": "Flu", "attachment": upload(PDF, "note.pdf")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("excuses:mine")
    excuse = ExcuseRequest.objects.get()
    assert excuse.attachment_type == "application/pdf"
    page = client.get(reverse("excuses:mine")).content.decode()
    assert "Waiting" in page and "MATH101" in page


def test_a_disguised_file_is_refused_on_the_page_with_the_reason(client, ada_user, ada_record):
    client.force_login(ada_user)
    response = client.post(
        reverse("excuses:new", args=[ada_record.pk]),
        {"reason": "Flu", "attachment": upload(b"<html>not a pdf</html>", "note.pdf")},
    )
    assert response.status_code == 400
    assert "Attach a PDF, JPEG or PNG" in response.content.decode()
    assert not ExcuseRequest.objects.exists()


def test_a_big_file_is_refused_on_the_page(client, ada_user, ada_record):
    client.force_login(ada_user)
    response = client.post(
        reverse("excuses:new", args=[ada_record.pk]),
        {"reason": "Flu", "attachment": upload(PDF + b"0" * (5 * 1024 * 1024), "big.pdf")},
    )
    assert response.status_code == 400
    assert "at most 5 MB" in response.content.decode()
    assert not ExcuseRequest.objects.exists()


def test_a_missing_reason_is_refused_on_the_page(client, ada_user, ada_record):
    client.force_login(ada_user)
    response = client.post(reverse("excuses:new", args=[ada_record.pk]), {"reason": ""})
    assert response.status_code == 400
    assert not ExcuseRequest.objects.exists()


def test_the_form_says_why_it_is_closed(client, ada_user, ada_record, settings):
    settings.EXCUSE_WINDOW_DAYS = 0
    NetworkSession.objects.filter(pk=ada_record.session_id).update(date="2020-01-06")
    client.force_login(ada_user)
    html = client.get(reverse("excuses:new", args=[ada_record.pk])).content.decode()
    assert "closed on 06 Jan 2020" in html and 'id="excuse-form"' not in html
    response = client.post(reverse("excuses:new", args=[ada_record.pk]), {"reason": "Late"})
    assert response.status_code == 400 and "closed on" in response.content.decode()


def test_the_form_says_a_request_already_waits(client, ada_user, excuse, ada_record):
    client.force_login(ada_user)
    html = client.get(reverse("excuses:new", args=[ada_record.pk])).content.decode()
    assert "already waiting" in html and 'id="excuse-form"' not in html


def test_the_lecturer_rejects_with_a_comment_and_the_student_reads_it(
    client, lecturer, ada_user, excuse, ada_record
):
    client.force_login(lecturer)
    response = client.post(
        reverse("excuses:decide", args=[excuse.pk]), {"decision": "reject", "comment": "No note"}
    )
    assert response.status_code == 302
    ada_record.refresh_from_db()
    assert ada_record.status == "absent"
    client.force_login(ada_user)
    page = client.get(reverse("excuses:mine")).content.decode()
    assert "Rejected" in page and "No note" in page


def test_a_rejection_without_a_comment_is_refused_on_the_page(client, lecturer, excuse):
    client.force_login(lecturer)
    response = client.post(reverse("excuses:decide", args=[excuse.pk]), {"decision": "reject"})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    excuse.refresh_from_db()
    assert excuse.state == "pending"


def test_deciding_again_on_the_page_is_refused(client, lecturer, staff_user, excuse):
    decide_excuse(excuse=excuse, approve=True, by=staff_user)
    client.force_login(lecturer)
    response = client.post(
        reverse("excuses:decide", args=[excuse.pk]), {"decision": "reject", "comment": "No"}
    )
    assert response.status_code == 400
    assert "already approved by admin" in response.content.decode()
    assert AttendanceChange.objects.count() == 1


def test_an_unknown_decision_changes_nothing(client, lecturer, excuse):
    client.force_login(lecturer)
    response = client.post(reverse("excuses:decide", args=[excuse.pk]), {"decision": "maybe"})
    assert response.status_code == 400
    excuse.refresh_from_db()
    assert excuse.state == "pending"


def test_get_on_decide_is_not_allowed(client, lecturer, excuse):
    client.force_login(lecturer)
    assert client.get(reverse("excuses:decide", args=[excuse.pk])).status_code == 405


# --- lists: order, pages, query counts ------------------------------------------------------


def session_queries(settings) -> int:
    """Reading the web session: none from the cache with Redis, one from the table without."""
    return 1 if settings.SESSION_ENGINE.endswith(".db") else 0


def _many_requests(course, lecturer, students_with_logins, n_sessions: int) -> None:
    """`n_sessions` ended sessions, every student asking about each."""
    for _ in range(n_sessions):
        session, _ = start_session(course=course, by=lecturer)
        end_session(session=session)
        for student in students_with_logins:
            record = AttendanceRecord.objects.get(session=session, student=student)
            submit_excuse(record=record, student=student, reason="Again")


def test_the_queue_shows_waiting_requests_first_oldest_first(
    client, lecturer, staff_user, course, ada, bob, ada_record, bob_record
):
    first = submit_excuse(record=ada_record, student=ada, reason="First")
    second = submit_excuse(record=bob_record, student=bob, reason="Second")
    decide_excuse(excuse=first, approve=True, by=staff_user)
    _many_requests(course, lecturer, [ada], 1)
    third = ExcuseRequest.objects.latest("submitted_at")
    client.force_login(lecturer)
    rows = list(client.get(reverse("excuses:queue")).context["page"].object_list)
    assert [r.pk for r in rows] == [second.pk, third.pk, first.pk]


def test_the_queue_is_paged(client, lecturer, course, ada, bob, ended_session):
    _many_requests(course, lecturer, [ada, bob], 13)
    client.force_login(lecturer)
    assert len(client.get(reverse("excuses:queue")).context["page"].object_list) == 25
    second = client.get(reverse("excuses:queue"), {"page": 2})
    assert len(second.context["page"].object_list) == 1
    assert client.get(reverse("excuses:queue"), {"page": "x"}).status_code == 200


@pytest.mark.parametrize("n_sessions", [1, 12])
def test_the_queue_takes_four_queries_whatever_its_length(
    client,
    lecturer,
    course,
    ada,
    bob,
    ended_session,
    django_assert_num_queries,
    n_sessions,
    settings,
):
    _many_requests(course, lecturer, [ada, bob], n_sessions)
    client.force_login(lecturer)
    # (the web session), user, may_review, count, page
    with django_assert_num_queries(session_queries(settings) + 4):
        response = client.get(reverse("excuses:queue"))
    assert len(response.context["page"].object_list) == min(2 * n_sessions, 25)


@pytest.mark.parametrize("n_sessions", [1, 30])
def test_my_requests_take_four_queries_whatever_their_number(
    client,
    ada_user,
    lecturer,
    course,
    ada,
    ended_session,
    django_assert_num_queries,
    n_sessions,
    settings,
):
    _many_requests(course, lecturer, [ada], n_sessions)
    client.force_login(ada_user)
    # (the web session), user, the student, count, page
    with django_assert_num_queries(session_queries(settings) + 4):
        response = client.get(reverse("excuses:mine"))
    assert len(response.context["page"].object_list) == min(n_sessions, 25)
    if n_sessions > 25:
        assert len(client.get(reverse("excuses:mine"), {"page": 2}).context["page"]) == 5


def test_the_staff_queue_takes_three_queries(
    client,
    staff_user,
    lecturer,
    course,
    ada,
    bob,
    ended_session,
    django_assert_num_queries,
    settings,
):
    _many_requests(course, lecturer, [ada, bob], 3)
    client.force_login(staff_user)
    # (the web session), user, count, page: staff need no course lookup
    with django_assert_num_queries(session_queries(settings) + 3):
        client.get(reverse("excuses:queue"))
