"""Attendance standings per student and course, and the warnings sent when one falls.

A Standing is derived from the course's register (attendance.AttendanceRecord)
and kept with it: the register writers call reports.standings.register_changed
inside their transaction (attendance.hooks). It is what the at-risk lists and
the per-student report read, so neither sums a register per request.
"""

from django.db import models
from django.db.models import F, Q

from attendance.models import Course, Student


class Standing(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="standings")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="standings")
    held = models.PositiveIntegerField(default=0, help_text="Sessions with a record.")
    present = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    absent = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="(present + late) / (present + late + absent); blank without a counted "
        "session. Excused sessions are left out.",
    )
    below = models.BooleanField(
        default=False, help_text="Below the course's warning threshold: at risk."
    )
    crossings = models.PositiveIntegerField(
        default=0, help_text="How many times the student has fallen below (one warning each)."
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="one_standing_per_pair"),
            models.CheckConstraint(
                condition=Q(held=F("present") + F("late") + F("absent") + F("excused")),
                name="standing_held_is_the_sum",
            ),
            models.CheckConstraint(
                condition=Q(rate__isnull=True) | (Q(rate__gte=0) & Q(rate__lte=1)),
                name="standing_rate_in_range",
            ),
            models.CheckConstraint(
                condition=Q(below=False) | Q(rate__isnull=False),
                name="standing_below_has_a_rate",
            ),
        ]
        indexes = [
            # A course's at-risk list: its rows below, lowest rate first.
            models.Index(fields=["course", "below", "rate"], name="standing_course_risk_idx"),
            # The school-wide list reads only the rows below, lowest rate first.
            models.Index(fields=["rate"], condition=Q(below=True), name="standing_below_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.course_id}: {self.rate}"

    @property
    def counted(self) -> int:
        return self.present + self.late + self.absent

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


class AttendanceWarning(models.Model):
    """One fall below a course's threshold: the student was mailed, and the lecturers."""

    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="attendance_warnings"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="attendance_warnings")
    crossing = models.PositiveIntegerField(help_text="1 for the first fall, 2 for the next...")
    rate = models.DecimalField(max_digits=5, decimal_places=4)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Two register writes racing cannot warn twice for one fall.
            models.UniqueConstraint(
                fields=["student", "course", "crossing"], name="one_warning_per_crossing"
            ),
            models.CheckConstraint(condition=Q(crossing__gte=1), name="warning_crossing_positive"),
        ]
        indexes = [models.Index(fields=["course", "-created_at"], name="warning_course_recent_idx")]

    def __str__(self) -> str:
        return f"Warning {self.crossing} for {self.student_id} in {self.course_id}"
