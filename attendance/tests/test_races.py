"""Races decided by PostgreSQL: row locks and conditional unique constraints under threads."""

import threading

import pytest
from django.db import connection

from attendance.devices import DeviceLimitReached, register_device
from attendance.models import AttendanceRecord, Device, NetworkSession
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(n: int, work) -> list:
    """Run `work(i)` in `n` threads released together; return results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_concurrent_starts_make_one_session_and_both_get_it(course, lecturer, other_lecturer):
    users = [lecturer, other_lecturer]
    results = at_once(2, lambda i: start_session(course=course, by=users[i]))
    assert not any(isinstance(r, Exception) for r in results), results
    assert NetworkSession.objects.filter(course=course).count() == 1
    session = NetworkSession.objects.get()
    assert {r[0].pk for r in results} == {session.pk}
    assert sorted(r[1] for r in results) == [False, True]


def test_ten_concurrent_ends_write_one_register_and_give_ten_equal_answers(course, students):
    session, _ = start_session(course=course, by=None)
    join(session, students[0], session.started_at)
    results = at_once(10, lambda i: end_session(session=session))
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(set(results)) == 1
    assert results[0].records == 5 and results[0].present == 1
    assert AttendanceRecord.objects.filter(session=session).count() == 5
    session.refresh_from_db()
    assert not session.is_active


def test_concurrent_registrations_at_the_limit_never_make_a_third_device(students, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    register_device(student=students[0], name="first")
    results = at_once(4, lambda i: register_device(student=students[0], name=f"race {i}"))
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, DeviceLimitReached) for r in results) == 3
    assert Device.objects.filter(student=students[0], is_active=True).count() == 2
