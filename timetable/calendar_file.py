"""A user's classes as an iCalendar file (RFC 5545), written with the icalendar library.

Each class is one event at its local time with the school's zone and its
length in real time (a VTIMEZONE
is included, so a phone in another zone still shows the right moment), from
four weeks back to half a year ahead. Cancelled classes stay in the file as
STATUS:CANCELLED, so calendars strike them through; days the school is
closed have no event. The UID is the meeting and the date, so an edit of the
meeting updates the same event in the phone's calendar.
"""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from icalendar import Calendar, Event

from timetable.schedule import PlannedClass, Status, local_date
from timetable.selectors import classes_between, own_courses

PAST_DAYS = 28
FUTURE_DAYS = 182


def _event(planned: PlannedClass, *, host: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"{planned.key}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", planned.local_start)
    # A duration, not an end: an end in the repeated hour of an autumn night
    # (01:30 for a 00:30 class of an hour, the second 01:30) reads as the first
    # one, and the event would last 30 minutes, or none.
    event.add("duration", planned.ends_at.astimezone(UTC) - planned.starts_at.astimezone(UTC))
    event.add("summary", f"{planned.course.code} {planned.course.title}")
    if planned.room:
        event.add("location", planned.room)
    cancelled = planned.status == Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if cancelled and planned.occurrence.reason:
        event.add("description", f"Cancelled: {planned.occurrence.reason}")
    return event


def calendar_for(*, user: AbstractBaseUser, host: str, now: datetime) -> bytes:
    today = local_date(now)
    classes = classes_between(
        courses=own_courses(user),
        start=today - timedelta(days=PAST_DAYS),
        end=today + timedelta(days=FUTURE_DAYS),
        now=now,
    )
    calendar = Calendar()
    calendar.add("prodid", "-//Roll-call//Timetable//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Classes (Roll-call)")
    for planned in classes:
        if planned.status != Status.CLOSED:
            calendar.add_component(_event(planned, host=host, now=now))
    # The zone's rules for the years the file covers (icalendar's default stops
    # at 2038, after which a calendar would put summer classes an hour off).
    calendar.add_missing_timezones(
        first_date=today - timedelta(days=PAST_DAYS + 366),
        last_date=today + timedelta(days=FUTURE_DAYS + 366),
    )
    return calendar.to_ical()
