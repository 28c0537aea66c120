"""The iCalendar feed: a secret, revocable address whose file phone calendars read back."""

from datetime import time, timedelta

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from attendance.models import Student
from attendance.tokens import hash_secret
from conftest import run_at_once
from timetable import feeds, meetings
from timetable.models import CalendarFeed, Closure
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday_morning():
    with time_machine.travel(at(MONDAY, 8, 0), tick=False):
        yield


@pytest.fixture
def classes(course, other_course, make_meeting, lecturer, settings):
    settings.TIME_ZONE = "Europe/London"
    monday = make_meeting(course, weekday=0, at=time(9, 0), room="A1")
    make_meeting(other_course, weekday=1, at=time(9, 0))
    meetings.cancel_class(
        meeting=monday, day=MONDAY + timedelta(days=7), by=lecturer, reason="Exams"
    )
    Closure.objects.create(
        name="Easter", starts_on=MONDAY + timedelta(days=35), ends_on=MONDAY + timedelta(days=42)
    )
    return monday


def read_back(client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def test_the_feed_parses_back_with_each_class_at_its_local_time(client, lecturer, classes):
    _feed, key = feeds.feed_create(user=lecturer)
    calendar = read_back(client, reverse("timetable:feed", args=[key]))
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    first = events[f"meeting-{classes.pk}-2026-03-02@testserver"]
    start = first.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (9, 0, "Europe/London")
    assert first.decoded("duration") == timedelta(minutes=60)
    assert (str(first["summary"]), str(first["location"])) == ("MATH101 Calculus I", "A1")
    assert str(first["status"]) == "CONFIRMED"
    # The week after the clock change: still 09:00 there, an hour earlier in UTC.
    after = events[f"meeting-{classes.pk}-2026-03-30@testserver"].decoded("dtstart")
    assert (after.hour, after.utcoffset()) == (9, timedelta(hours=1))
    cancelled = events[f"meeting-{classes.pk}-2026-03-09@testserver"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert str(cancelled["description"]) == "Cancelled: Exams"
    # Easter: closed, no event. Another lecturer's course: not in this calendar.
    assert f"meeting-{classes.pk}-2026-04-06@testserver" not in events
    assert all(str(e["summary"]).startswith("MATH101") for e in events.values())
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_a_students_feed_holds_the_courses_they_are_enrolled_in(
    client, classes, students, make_user
):
    user = make_user("ada")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    _feed, key = feeds.feed_create(user=user)
    calendar = read_back(client, reverse("timetable:feed", args=[key]))
    assert {str(e["summary"]) for e in calendar.walk("VEVENT")} == {"MATH101 Calculus I"}


def test_only_a_hash_of_the_key_is_kept(lecturer):
    feed, key = feeds.feed_create(user=lecturer)
    stored = CalendarFeed.objects.values_list("prefix", "key_hash").get(pk=feed.pk)
    assert stored == (key.split(".")[0], hash_secret(key))
    assert key.split(".", 1)[1] not in str(stored)


def test_the_page_shows_the_address_once_then_never_again(client, lecturer):
    client.force_login(lecturer)
    html = client.post(reverse("timetable:feed-new")).content.decode()
    url = html.split('class="feed-url" readonly value="', 1)[1].split('"', 1)[0]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    assert client.get(url.removeprefix("http://testserver")).status_code == 200
    page = client.get(reverse("timetable:week")).content.decode()
    assert url not in page and "Make a new address" in page


def test_a_new_address_stops_the_old_one_and_revoking_stops_both(client, lecturer):
    _first, old = feeds.feed_create(user=lecturer)
    _second, new = feeds.feed_create(user=lecturer)
    assert client.get(reverse("timetable:feed", args=[old])).status_code == 404
    assert client.get(reverse("timetable:feed", args=[new])).status_code == 200
    client.force_login(lecturer)
    assert (
        "no longer works"
        in client.post(reverse("timetable:feed-revoke"), follow=True).content.decode()
    )
    client.logout()
    assert client.get(reverse("timetable:feed", args=[new])).status_code == 404
    assert CalendarFeed.objects.filter(user=lecturer, is_active=True).count() == 0


@pytest.mark.parametrize(
    "key", ["nothing", "deadbeef.wrong-secret", "x" * 300, "a.b.c"], ids=lambda k: k[:12]
)
def test_a_wrong_address_is_a_plain_404(client, lecturer, key):
    feeds.feed_create(user=lecturer)
    assert client.get(reverse("timetable:feed", args=[key])).status_code == 404


def test_a_deactivated_users_address_stops_working(client, lecturer):
    _feed, key = feeds.feed_create(user=lecturer)
    lecturer.is_active = False
    lecturer.save()
    assert client.get(reverse("timetable:feed", args=[key])).status_code == 404


def test_reading_the_feed_is_noted_and_costs_the_same_for_many_classes(
    client, lecturer, course, make_meeting, django_assert_num_queries
):
    for weekday in range(5):
        make_meeting(course, weekday=weekday, at=time(9, 0))
    _feed, key = feeds.feed_create(user=lecturer)
    # The feed and its use; meetings, occurrences, closures.
    with django_assert_num_queries(5):
        calendar = read_back(client, reverse("timetable:feed", args=[key]))
    assert len(calendar.walk("VEVENT")) > 5 * 7
    assert CalendarFeed.objects.get().last_used_at == at(MONDAY, 8, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_new_addresses_at_once_leave_one_that_works(client, lecturer):
    for _round in range(3):
        results = run_at_once(8, lambda i: feeds.feed_create(user=lecturer))
        assert not any(isinstance(r, Exception) for r in results), results
    keys = [key for _feed, key in results]
    assert CalendarFeed.objects.filter(user=lecturer, is_active=True).count() == 1
    working = [k for k in keys if feeds.feed_for_key(k) is not None]
    assert len(working) == 1
