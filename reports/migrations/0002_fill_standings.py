"""Standings for the registers written before there were standings.

A school that upgrades has every student's counts, rate and at-risk mark at
once, without running a command; nobody is mailed (a student already below is
warned at their next fall after a rise, as `rebuild_standings` does). The rule
is the one of attendance.reports.below_threshold, frozen here as a migration's
code must be. A course at a time: one grouped query and one insert each.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations
from django.db.models import Count, Q
from django.utils import timezone

FOUR_PLACES = Decimal("0.0001")


def fill(apps, schema_editor):
    Course = apps.get_model("attendance", "Course")
    AttendanceRecord = apps.get_model("attendance", "AttendanceRecord")
    Standing = apps.get_model("reports", "Standing")
    alias = schema_editor.connection.alias
    now = timezone.now()
    for course in Course.objects.using(alias).order_by("pk").iterator():
        rows = (
            AttendanceRecord.objects.using(alias)
            .filter(session__course_id=course.pk)
            .order_by()
            .values_list("student_id")
            .annotate(
                present=Count("pk", filter=Q(status="present")),
                late=Count("pk", filter=Q(status="late")),
                absent=Count("pk", filter=Q(status="absent")),
                excused=Count("pk", filter=Q(status="excused")),
            )
        )
        standings = []
        for student_id, present, late, absent, excused in rows:
            counted = present + late + absent
            rate = (
                (Decimal(present + late) / counted).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
                if counted
                else None
            )
            standings.append(
                Standing(
                    student_id=student_id,
                    course_id=course.pk,
                    held=counted + excused,
                    present=present,
                    late=late,
                    absent=absent,
                    excused=excused,
                    rate=rate,
                    below=counted > 0
                    and counted >= course.warn_after_sessions
                    and (present + late) * 100 < course.warn_below_percent * counted,
                    crossings=0,
                    updated_at=now,
                )
            )
        Standing.objects.using(alias).bulk_create(
            standings, batch_size=1000, ignore_conflicts=True
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("attendance", "0005_course_attendance_warning_threshold"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
