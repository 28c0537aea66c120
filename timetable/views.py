"""Timetable pages: one's own week, a course's week, the dashboard's "today" panel,
cancelling a class, extra classes, and the calendar feed.

Another lecturer's course answers 404, as everywhere. The pages work without
JavaScript; htmx only swaps the dashboard panel in place.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from attendance import courses as course_settings
from attendance.days import FIRST_DAY, LAST_DAY
from attendance.models import Course
from attendance.selectors import courses_for_user
from attendance.web import back_to
from timetable import calendar_file, feeds, meetings, selectors
from timetable.forms import (
    CancelForm,
    ExtraClassForm,
    LateThresholdForm,
    RestoreForm,
    first_error,
)
from timetable.models import Meeting, Occurrence
from timetable.schedule import Status, local_date, week_start


def _day(request: HttpRequest) -> date:
    """The ?week= day (any day of the week to show); today when absent or not a date."""
    raw = request.GET.get("week", "")
    try:
        day = date.fromisoformat(raw) if raw else local_date(timezone.now())
    except ValueError:
        messages.error(request, f"{raw!r} is not a date such as 2026-03-02; showing this week.")
        return local_date(timezone.now())
    if not FIRST_DAY <= day <= LAST_DAY:
        messages.error(
            request,
            f"{raw} is outside {FIRST_DAY.year}-{LAST_DAY.year}; showing this week.",
        )
        return local_date(timezone.now())
    return day


def _managed_ids(request: HttpRequest, classes) -> set[int]:
    """Which of these classes' courses the user may cancel classes of (one query)."""
    ids = {c.course.pk for c in classes}
    if not ids:
        return set()
    return set(courses_for_user(request.user).filter(pk__in=ids).values_list("pk", flat=True))


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    return back_to(request, request.POST.get("next", ""), fallback)


@login_required
@require_GET
def my_week(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    courses = selectors.own_courses(request.user)
    week = selectors.week_of(courses=courses, day=_day(request), now=now)
    return render(
        request,
        "timetable/my_week.html",
        {
            "week": week,
            "next_class": selectors.next_class(courses=courses, now=now),
            "managed": _managed_ids(request, week.classes),
            "feed": feeds.active_feed(request.user),
            "today": local_date(now),
            "this_week": week_start(local_date(now)),
            "now": now,
        },
    )


@login_required
@require_GET
def course_week(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(courses_for_user(request.user), pk=course_id)
    now = timezone.now()
    only = Course.objects.filter(pk=course.pk)
    week = selectors.week_of(courses=only, day=_day(request), now=now)
    return render(
        request,
        "timetable/course_week.html",
        {
            "course": course,
            "week": week,
            "managed": {course.pk},
            "meetings": Meeting.objects.filter(course=course).select_related("term"),
            "extra_form": ExtraClassForm(),
            "late_form": LateThresholdForm(initial={"minutes": course.late_after_minutes}),
            "today": local_date(now),
            "now": now,
        },
    )


def _today_context(request: HttpRequest) -> dict:
    """Today's classes and the rest of this week's, from one read of the week."""
    now = timezone.now()
    today = local_date(now)
    courses = courses_for_user(request.user)
    week = selectors.week_of(courses=courses, day=today, now=now)
    ahead = [c for c in week.classes if c.date >= today]
    coming = [c for c in ahead if c.status in (Status.RUNNING, Status.UPCOMING)]
    return {
        "classes": [c for c in ahead if c.date == today],
        "later": [c for c in ahead if c.date > today],
        # Only when nothing is left this week does it look further ahead.
        "next_class": coming[0] if coming else selectors.next_class(courses=courses, now=now),
        # Everything on the dashboard is the user's to run.
        "managed": {c.course.pk for c in week.classes},
        "today": today,
        "now": now,
    }


@login_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    """The dashboard's panel: today's classes, the next one, cancel today's. Opened on its
    own (a bookmark, a copied link) it is not a page: the dashboard that holds it is."""
    if not request.htmx:
        return redirect(f"{reverse('dashboard')}#today")
    return render(request, "timetable/_today.html", _today_context(request))


@login_required
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _after_change(request, None)
    meeting = get_object_or_404(
        Meeting.objects.select_related("course").filter(course__in=courses_for_user(request.user)),
        pk=form.cleaned_data["meeting"],
    )
    day = form.cleaned_data["date"]
    try:
        meetings.cancel_class(
            meeting=meeting, day=day, by=request.user, reason=form.cleaned_data["reason"]
        )
    except meetings.TimetableError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{meeting.course.code} on {day:%a %d %b} is cancelled.")
    return _after_change(request, meeting.course)


@login_required
@require_POST
def restore(request: HttpRequest) -> HttpResponse:
    form = RestoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _after_change(request, None)
    occurrence = (
        Occurrence.objects.select_related("course")
        .filter(course__in=courses_for_user(request.user), pk=form.cleaned_data["occurrence"])
        .first()
    )
    if occurrence is None:
        # A second click, or a colleague got there first: the cancellation is gone.
        messages.info(request, "That class is not cancelled any more: it is already back on.")
        return _after_change(request, None)
    try:
        meetings.restore_class(occurrence=occurrence)
    except meetings.TimetableError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{occurrence.course.code} on {occurrence.date:%a %d %b} is back on."
        )
    return _after_change(request, occurrence.course)


def _after_change(request: HttpRequest, course: Course | None) -> HttpResponse:
    if request.htmx:
        # The dashboard's panel asked: answer with the panel, the message inside it.
        return render(request, "timetable/_today.html", _today_context(request))
    fallback = (
        reverse("timetable:course-week", args=[course.pk]) if course else reverse("timetable:week")
    )
    return _back(request, fallback)


@login_required
@require_POST
def extra_class(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(courses_for_user(request.user), pk=course_id)
    form = ExtraClassForm(request.POST)
    week_url = reverse("timetable:course-week", args=[course.pk])
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(week_url)
    data = form.cleaned_data
    try:
        meeting, warnings = meetings.extra_class_create(
            course=course,
            day=data["date"],
            start_time=data["start_time"],
            duration_minutes=data["duration_minutes"],
            room=data["room"],
        )
    except meetings.TimetableError as exc:
        messages.error(request, str(exc))
        return redirect(week_url)
    messages.success(
        request, f"Extra class on {data['date']:%a %d %b} at {meeting.start_time:%H:%M} added."
    )
    for warning in warnings:
        messages.warning(request, warning)
    return redirect(f"{week_url}?week={data['date'].isoformat()}")


@login_required
@require_POST
def late_threshold(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(courses_for_user(request.user), pk=course_id)
    form = LateThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        minutes = form.cleaned_data["minutes"]
        course_settings.set_late_threshold(course=course, minutes=minutes)
        messages.success(
            request,
            f"{course.code}: late after {minutes} minutes."
            if minutes is not None
            else f"{course.code}: late after the school's default.",
        )
    return redirect("timetable:course-week", course_id=course.pk)


# --- the calendar feed ------------------------------------------------------------------


@login_required
@require_POST
def feed_new(request: HttpRequest) -> HttpResponse:
    """Make a new secret address. It is on this answer only (no redirect that would lose it)."""
    _feed, key = feeds.feed_create(user=request.user)
    url = request.build_absolute_uri(reverse("timetable:feed", args=[key]))
    return render(request, "timetable/feed_created.html", {"url": url})


@login_required
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    if feeds.feed_revoke(user=request.user):
        messages.success(request, "Your calendar address no longer works.")
    else:
        messages.info(request, "You had no calendar address.")
    return redirect("timetable:week")


@require_GET
def feed(request: HttpRequest, key: str) -> HttpResponse:
    """The iCalendar file, for calendar apps: the secret address is the only credential."""
    found = feeds.feed_for_key(key)
    if found is None:
        raise Http404("No such calendar.")
    body = calendar_file.calendar_for(
        user=found.user, host=request.get_host().split(":")[0], now=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="classes.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    return response
