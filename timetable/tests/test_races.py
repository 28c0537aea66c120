"""Races PostgreSQL decides: sweepers opening one class, a cancel against the sweep,
two overlapping meetings saved at once (by the service, and by two admins)."""

import threading
from datetime import time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from attendance import sweeper
from attendance.models import NetworkSession
from conftest import run_at_once
from timetable import meetings
from timetable.meetings import TimetableError
from timetable.models import Meeting, Occurrence
from timetable.tests.builders import MONDAY, at
from timetable.tests.test_admin import change_url, course_form, row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_sweepers_at_once_open_a_class_exactly_once(course, students, make_meeting):
    make_meeting(course)
    results = run_at_once(4, lambda i: sweeper.sweep_once(now=at(MONDAY, 8, 56)))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.jobs.get("classes_opened", 0) for r in results) == 1
    assert Occurrence.objects.count() == 1
    session = NetworkSession.objects.get()
    assert Occurrence.objects.get().session == session
    # And they end it once, with one register (each sweeper's clock a second apart).
    results = run_at_once(
        4, lambda i: sweeper.sweep_once(now=at(MONDAY, 10, 5) + timedelta(seconds=i))
    )
    assert sum(r.jobs.get("classes_ended", 0) for r in results) == 1
    assert sum(r.jobs.get("class_records", 0) for r in results) == 5
    assert session.records.count() == 5


def test_sweepers_at_once_open_a_morning_of_classes_each_exactly_once(make_meeting):
    from attendance.models import Course

    courses = [Course.objects.create(code=f"M{i:02d}", title="t") for i in range(12)]
    for course in courses:
        make_meeting(course)
    # Two at the same instant (as `cleanup_sessions --now` gives), two a second later.
    results = run_at_once(
        4, lambda i: sweeper.sweep_once(now=at(MONDAY, 8, 56) + timedelta(seconds=i // 2))
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.jobs.get("classes_opened", 0) for r in results) == 12
    assert Occurrence.objects.count() == 12
    assert NetworkSession.objects.filter(is_active=True).count() == 12
    assert not Occurrence.objects.filter(session__isnull=True).exists()
    assert sorted(NetworkSession.objects.values_list("course_id", flat=True)) == sorted(
        c.pk for c in courses
    )


def test_a_cancel_racing_the_sweep_either_wins_or_is_told_the_class_opened(
    course, make_meeting, lecturer
):
    meeting = make_meeting(course)

    def work(i):
        if i == 0:
            return sweeper.sweep_once(now=at(MONDAY, 8, 56))
        return meetings.cancel_class(
            meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 8, 56)
        )

    for _ in range(3):
        Occurrence.objects.all().delete()
        NetworkSession.objects.all().delete()
        sweep, cancel = run_at_once(2, work)
        occurrence = Occurrence.objects.get()
        if occurrence.status == "cancelled":
            assert sweep.jobs == {} and not NetworkSession.objects.exists()
            assert cancel.pk == occurrence.pk
        else:
            assert sweep.jobs == {"classes_opened": 1}
            assert isinstance(cancel, TimetableError)
            assert occurrence.session == NetworkSession.objects.get()


def test_two_overlapping_meetings_saved_at_once_keep_one(course, term):
    def work(i):
        return meetings.meeting_create(
            course=course,
            term=term,
            weekday=0,
            start_time=time(9, 0) if i == 0 else time(9, 30),
            duration_minutes=60,
        )

    results = run_at_once(2, work)
    assert sum(isinstance(r, tuple) for r in results) == 1
    [refused] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refused, TimetableError) and "overlaps" in str(refused)
    assert Meeting.objects.count() == 1


def admins(n: int) -> list[Client]:
    clients = []
    for i in range(n):
        client = Client()
        client.force_login(get_user_model().objects.create_superuser(f"admin{i}"))
        clients.append(client)
    return clients


def posted_at_once(clients: list[Client], posts: list[tuple[str, dict]]) -> list:
    """Each client's POST, all at once; connected first, so the requests meet, not the logins."""
    ready = threading.Barrier(len(clients), timeout=10)

    def work(i):
        connection.ensure_connection()
        ready.wait()
        return clients[i].post(*posts[i])

    return run_at_once(len(clients), work)


def one_saved_one_told(results) -> None:
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.status_code for r in results) == [200, 302], results
    [refused] = [r for r in results if r.status_code == 200]
    assert "overlaps MATH101 Monday" in refused.content.decode()
    assert Meeting.objects.count() == 1


def test_two_admins_adding_overlapping_meetings_at_once_keep_one_and_tell_the_other(course, term):
    clients = admins(2)
    url = reverse("admin:timetable_meeting_add")
    posts = [(url, {**row(term, start=start), "course": course.pk}) for start in ("09:00", "09:30")]
    # Several rounds: one round meets in the bad order only now and then.
    for _round in range(5):
        Meeting.objects.all().delete()
        one_saved_one_told(posted_at_once(clients, posts))


def test_two_admins_adding_overlapping_meetings_on_the_course_page_keep_one(course, term):
    clients = admins(2)
    posts = [
        (change_url(course), course_form(course, [row(term, start=start)]))
        for start in ("09:00", "09:30")
    ]
    for _round in range(5):
        Meeting.objects.all().delete()
        one_saved_one_told(posted_at_once(clients, posts))


def test_cancels_racing_restores_never_fail(course, make_meeting, lecturer):
    """A restore may delete the cancellation a cancel's failed insert then looks for."""
    meeting = make_meeting(course)
    now = at(MONDAY, 7, 0)
    for _ in range(10):
        occurrence = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=now)

        def work(i, occurrence=occurrence):
            if i < 2:
                return meetings.restore_class(occurrence=occurrence, now=now)
            return meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=now)

        results = run_at_once(6, work)
        assert not any(isinstance(r, Exception) for r in results), results
        # Whatever the order, the day is cancelled at most once.
        assert Occurrence.objects.filter(meeting=meeting, date=MONDAY).count() <= 1
        Occurrence.objects.all().delete()
