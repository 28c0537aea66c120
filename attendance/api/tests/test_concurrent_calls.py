"""Two clients at once through the API: the services' locks and constraints decide."""

import threading

import pytest
from django.db import connection

from attendance.api.tests.conftest import token_client
from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(*calls) -> list:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_concurrent_ends_give_equal_answers_and_one_register(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    url = f"/api/sessions/{session.pk}/end/"
    a, b = token_client(lecturer), token_client(lecturer)
    first, second = _at_once(lambda: a.post(url), lambda: b.post(url))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    assert AttendanceRecord.objects.filter(session=session).count() == 5
    session.refresh_from_db()
    assert not session.is_active


def test_two_concurrent_starts_make_one_session(course, students, lecturer, staff_user):
    body = {"course_id": course.pk}
    a, b = token_client(lecturer), token_client(staff_user)
    first, second = _at_once(
        lambda: a.post("/api/sessions/", body, format="json"),
        lambda: b.post("/api/sessions/", body, format="json"),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    assert NetworkSession.objects.filter(course=course).count() == 1
