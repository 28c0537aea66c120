"""The school roster, class sessions, device presence and registers.

Every invariant is a database constraint; the service modules
(sessions.py, presence.py, devices.py) are the only writers.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from attendance.validators import no_control_characters


class Course(models.Model):
    code = models.CharField(max_length=20, unique=True, validators=[no_control_characters])
    title = models.CharField(max_length=200, validators=[no_control_characters])
    lecturers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="courses_taught", blank=True
    )
    late_after_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="A first join more than this many minutes after the start is late. "
        "Blank: the school's ATTENDANCE_LATE_AFTER_MINUTES.",
    )
    warn_below_percent = models.PositiveSmallIntegerField(
        default=75,
        help_text="A student whose attendance rate falls below this percentage is at risk "
        "and is warned (1 to 100).",
    )
    warn_after_sessions = models.PositiveSmallIntegerField(
        default=5,
        help_text="No one is at risk before this many counted sessions (present, late or "
        "absent): a rate over two sessions says little.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(late_after_minutes__isnull=True) | Q(late_after_minutes__lte=240),
                name="course_late_threshold_in_range",
            ),
            models.CheckConstraint(
                condition=Q(warn_below_percent__gte=1) & Q(warn_below_percent__lte=100),
                name="course_warn_below_percent_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Student(models.Model):
    student_number = models.CharField(
        max_length=20, unique=True, validators=[no_control_characters]
    )
    first_name = models.CharField(max_length=100, validators=[no_control_characters])
    last_name = models.CharField(max_length=100, validators=[no_control_characters])
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="student",
    )
    courses = models.ManyToManyField(Course, through="Enrollment", related_name="students")

    class Meta:
        ordering = ["last_name", "first_name", "student_number"]
        indexes = [
            # Lists sorted by name read a page from here and stop, at any size.
            models.Index(
                fields=["last_name", "first_name", "student_number"], name="student_name_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.student_number})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Enrollment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "student"], name="one_enrollment_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.student} in {self.course.code}"


class Device(models.Model):
    """A student's phone or program. The secret token is stored only as a hash."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="devices")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    name = models.CharField(max_length=100)
    # Active devices hold a numbered slot; the unique slot per student caps how
    # many a student may have at once, even under concurrent registrations.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "slot"],
                condition=Q(is_active=True),
                name="one_active_device_per_slot",
            ),
            # slot__isnull=False is spelled out: on PostgreSQL "NULL >= 1" is
            # unknown, and a CHECK that is unknown passes.
            models.CheckConstraint(
                condition=(
                    Q(is_active=True, slot__isnull=False, slot__gte=1)
                    | Q(is_active=False, slot__isnull=True)
                ),
                name="active_device_has_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.student.student_number})"


class NetworkSession(models.Model):
    """One class meeting during which devices may join."""

    class EndReason(models.TextChoices):
        ENDED = "ended", "Ended by lecturer"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"
        FORCED = "forced", "Forced"
        SCHEDULED = "scheduled", "Ended on schedule"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions_started",
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions_ended",
    )
    date = models.DateField(help_text="The school's local date of the class.")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # A timetabled class: lateness counts from here, not from when the session opened.
    scheduled_start = models.DateTimeField(null=True, blank=True)
    # The threshold this session was opened with (its timetable's); None: the course's.
    late_after_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    join_code = models.CharField(max_length=6)
    previous_join_code = models.CharField(max_length=6, blank=True)
    code_rotated_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        constraints = [
            models.UniqueConstraint(
                fields=["course", "date"],
                condition=Q(is_active=True),
                name="one_active_session_per_course_date",
            ),
            models.UniqueConstraint(
                fields=["join_code"],
                condition=Q(is_active=True),
                name="unique_active_join_code",
            ),
            models.CheckConstraint(
                condition=(
                    Q(is_active=True, ended_at__isnull=True, end_reason="")
                    | Q(
                        is_active=False,
                        ended_at__isnull=False,
                        end_reason__in=["ended", "expired", "superseded", "forced", "scheduled"],
                    )
                ),
                name="session_end_fields_consistent",
            ),
            models.CheckConstraint(
                condition=Q(join_code__regex=r"^[0-9]{6}$"), name="join_code_is_six_digits"
            ),
        ]
        indexes = [models.Index(fields=["is_active", "started_at"])]

    def __str__(self) -> str:
        return f"{self.course.code} {self.date} #{self.pk}"


class ConnectedDevice(models.Model):
    """A device's presence in one session; one row per pair, ever."""

    session = models.ForeignKey(
        NetworkSession, on_delete=models.CASCADE, related_name="connected_devices"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="connections")
    connected_at = models.DateTimeField(help_text="First join.")
    last_seen_at = models.DateTimeField()
    disconnected_at = models.DateTimeField(null=True, blank=True)
    is_connected = models.BooleanField(default=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["connected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "device"], name="one_connection_per_session_device"
            ),
        ]
        indexes = [models.Index(fields=["is_connected", "last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.device} in {self.session}"


class AttendanceRecord(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    class Source(models.TextChoices):
        DEVICE = "device", "Device"
        MANUAL = "manual", "Manual"

    session = models.ForeignKey(NetworkSession, on_delete=models.CASCADE, related_name="records")
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="attendance_records"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DEVICE)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["student__last_name", "student__first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "student"], name="one_record_per_session_student"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "absent", "excused"]),
                name="record_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.status} in {self.session}"


class AttendanceChange(models.Model):
    """Audit trail: every manual change to a record, never edited."""

    record = models.ForeignKey(AttendanceRecord, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()
    from_status = models.CharField(max_length=10, choices=AttendanceRecord.Status.choices)
    to_status = models.CharField(max_length=10, choices=AttendanceRecord.Status.choices)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.record}: {self.from_status} → {self.to_status}"


class ApiToken(models.Model):
    """A program's credential. Only a hash of the key is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
