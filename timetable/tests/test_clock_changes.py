"""Classes on the nights the clocks change: opened five real minutes ahead, lasting their
real minutes, in the calendar file too, and the sweep's --now read in real time."""

from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from icalendar import Calendar

from attendance import sweeper
from attendance.models import NetworkSession
from attendance.sessions import start_session
from timetable import feeds
from timetable.schedule import meeting_times
from timetable.selectors import classes_between, own_courses
from timetable.tests.builders import make_term, new_meeting

pytestmark = pytest.mark.django_db

# London: 01:00 GMT becomes 02:00 BST on 29 March 2026, and 02:00 BST 01:00 GMT on
# 25 October; New York: 02:00 EST becomes 03:00 EDT on 8 March 2026.
SPRING_FORWARD = date(2026, 3, 29)
FALL_BACK = date(2026, 10, 25)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)


@pytest.fixture
def year():
    return make_term("Year", date(2026, 1, 1), date(2026, 12, 31), due_on=date(2026, 12, 31))


def once(course, term, day: date, at: time, minutes: int):
    return new_meeting(
        course, term, weekday=day.weekday(), at=at, minutes=minutes, valid_from=day, valid_to=day
    )


def test_a_class_just_after_the_skipped_hour_opens_five_real_minutes_before(course, year, settings):
    # 02:00 BST is 01:00 UTC. Five wall-clock minutes before it, 01:55, never
    # happens and meant 01:55 UTC: the class opened 55 minutes late, and one of
    # half an hour (over by 01:30 UTC) never opened at all.
    settings.TIME_ZONE = "Europe/London"
    once(course, year, SPRING_FORWARD, time(2, 0), minutes=30)
    assert not sweeper.sweep_once(now=utc(2026, 3, 29, 0, 54)).jobs
    assert sweeper.sweep_once(now=utc(2026, 3, 29, 0, 55)).jobs == {"classes_opened": 1}
    session = NetworkSession.objects.get(course=course)
    assert session.scheduled_start == utc(2026, 3, 29, 1, 0)
    [planned] = classes_between(
        courses=own_courses(course.lecturers.get()),
        start=SPRING_FORWARD,
        end=SPRING_FORWARD,
        now=utc(2026, 3, 28),
    )
    assert planned.opens_at == planned.starts_at - timedelta(minutes=5)
    assert planned.opens_at.astimezone(UTC) == utc(2026, 3, 29, 0, 55)


def test_a_time_the_clocks_skip_is_given_as_the_time_it_is(course, year, settings):
    settings.TIME_ZONE = "Europe/London"
    meeting = once(course, year, SPRING_FORWARD, time(1, 30), minutes=60)
    starts_at, ends_at = meeting_times(meeting, SPRING_FORWARD)
    assert (starts_at.hour, starts_at.minute, starts_at.utcoffset()) == (2, 30, timedelta(hours=1))
    assert (ends_at.hour, ends_at.minute) == (3, 30)


@pytest.mark.parametrize(
    ("now", "still_running"),
    [
        ("2026-03-08T03:10", True),  # 3 h 10 min after it started, in real time
        ("2026-03-08T04:05", False),  # 4 h 05 min
    ],
)
def test_the_sweeps_now_counts_a_sessions_age_in_real_hours(course, settings, now, still_running):
    # Read in the school's zone and reckoned on its wall clock, 03:10 EDT was four
    # hours after 23:00 EST: the session expired an hour early.
    settings.TIME_ZONE = "America/New_York"
    session, _ = start_session(course=course, by=None, now=utc(2026, 3, 8, 4, 0))  # 23:00 EST
    call_command("cleanup_sessions", "--now", now, stdout=StringIO())
    session.refresh_from_db()
    assert session.is_active is still_running


def test_the_calendar_gives_a_class_in_the_repeated_hour_its_real_length(
    client, course, year, lecturer, settings
):
    # 00:30 BST and 90 minutes: it ends at 01:00 GMT, the second 01:00 of the night.
    # An end written as 01:00 reads as the first one, half an hour after the start.
    settings.TIME_ZONE = "Europe/London"
    once(course, year, FALL_BACK, time(0, 30), minutes=90)
    with time_machine.travel(utc(2026, 10, 20, 9, 0), tick=False):
        _feed, key = feeds.feed_create(user=lecturer)
        response = client.get(reverse("timetable:feed", args=[key]))
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    start = event.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (0, 30, "Europe/London")
    assert event.decoded("duration") == timedelta(minutes=90)
    assert "DTEND" not in event
    # The zone's rules reach past the years the file covers.
    [zone] = Calendar.from_ical(response.content).walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Europe/London"


def test_the_week_shows_a_class_across_the_clock_change_with_its_zones(
    client, course, year, lecturer, settings
):
    # 00:30 BST for 90 minutes ends at 01:00 GMT: "00:30-01:00" would read as 30 minutes.
    settings.TIME_ZONE = "Europe/London"
    once(course, year, FALL_BACK, time(0, 30), minutes=90)
    once(course, year, FALL_BACK - timedelta(days=1), time(9, 0), minutes=60)
    client.force_login(lecturer)
    with time_machine.travel(utc(2026, 10, 20, 9, 0), tick=False):
        html = client.get(reverse("timetable:week"), {"week": "2026-10-19"}).content.decode()
    assert "00:30 BST</time>–01:00 GMT" in html
    assert "09:00</time>–10:00<" in html  # a class within one offset keeps the short form
