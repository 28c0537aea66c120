"""The school's timetable: weekly meetings of courses, closures, and each dated class.

A Meeting is a template ("MATH101 meets on Mondays at 09:00 for 60 minutes in
A1, this term"); an Occurrence is one dated class of it, written when the
sweep opens its session or when someone cancels it. The occurrence keeps its
own copy of the time and room, so editing or removing a meeting never
rewrites a class that already happened. The session itself (attendance) does
not know the timetable: the link is the occurrence's one-to-one field.

Every invariant is a database constraint: one occurrence per meeting and day
(so several sweepers open a class once, and a cancelled class never opens),
no two meetings of one course at once (an exclusion constraint on
PostgreSQL, migration 0002), one active calendar feed per user.
timetable/meetings.py, sweep.py and feeds.py are the only writers.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from attendance.models import Course, NetworkSession
from payments.models import Term


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Closure(models.Model):
    """A holiday or any days the school is shut: no class opens on them."""

    name = models.CharField(max_length=100)
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last day closed (inclusive).")

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="closure_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["starts_on", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.starts_on} – {self.ends_on})"


class Meeting(models.Model):
    """A course's weekly class, in the school's local time (settings.TIME_ZONE).

    A one-off extra class is a meeting valid on a single day.
    """

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="meetings")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="meetings")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local school time.")
    duration_minutes = models.PositiveSmallIntegerField()
    room = models.CharField(max_length=50, blank=True)
    late_after_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Blank: the course's late threshold."
    )
    auto_start = models.BooleanField(
        default=True, help_text="Open the session by itself before the class starts."
    )
    valid_from = models.DateField(help_text="First day it may meet; inside the term.")
    valid_to = models.DateField(help_text="Last day it may meet; inside the term.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course__code", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="meeting_weekday_valid"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=1440),
                name="meeting_duration_valid",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")), name="meeting_valid_to_after_from"
            ),
            models.CheckConstraint(
                condition=Q(late_after_minutes__isnull=True) | Q(late_after_minutes__lte=240),
                name="meeting_late_threshold_in_range",
            ),
        ]
        indexes = [models.Index(fields=["weekday", "start_time"])]

    def __str__(self) -> str:
        return (
            f"{self.course.code} {self.get_weekday_display()} {self.start_time:%H:%M} "
            f"({self.duration_minutes} min)"
        )

    @property
    def is_one_off(self) -> bool:
        return self.valid_from == self.valid_to


class Occurrence(models.Model):
    """One dated class of a meeting: opened by the sweep (with its session) or cancelled."""

    class Status(models.TextChoices):
        OPENED = "opened", "Opened"
        CANCELLED = "cancelled", "Cancelled"

    # Kept when the meeting is removed: the class happened (or was called off).
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="occurrences")
    date = models.DateField(help_text="The school's local date of the class.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    room = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    session = models.OneToOneField(
        NetworkSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="occurrence",
    )
    reason = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            # Several sweepers open a class once; a cancelled class never opens.
            models.UniqueConstraint(
                fields=["meeting", "date"], name="one_occurrence_per_meeting_day"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="occurrence_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status="opened") | Q(status="cancelled", session__isnull=True),
                name="cancelled_occurrence_has_no_session",
            ),
        ]
        indexes = [models.Index(fields=["course", "date"])]

    def __str__(self) -> str:
        return f"{self.course.code} {self.date} {self.status}"


class CalendarFeed(models.Model):
    """A user's secret iCalendar address. Only a hash of its key is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_active=True), name="one_active_calendar_feed"
            ),
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.user} ({self.prefix}…)"
