"""The reports part of the demo school: a few ended HIST210 classes, three students below.

Idempotent: it writes the classes only when HIST210 has no ended session yet,
and fills the standings from the registers (no warning mail for demo data).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from attendance.models import AttendanceRecord, Course, NetworkSession
from reports.standings import rebuild_course

DEMO_COURSE = "HIST210"
CLASSES = 6
# Each class's status for the first students (by number); the rest are present.
PATTERN = {
    0: ["absent", "absent", "present", "absent", "absent", "late"],  # 33%: at risk
    1: ["absent", "present", "absent", "absent", "present", "absent"],  # 33%: at risk
    2: ["late", "absent", "absent", "excused", "present", "absent"],  # 40%: at risk
    3: ["present", "absent", "present", "present", "late", "present"],  # 83%
    4: ["present", "present", "excused", "present", "present", "absent"],  # 80%
}


def seed_reports(*, stdout=None) -> None:
    course = Course.objects.filter(code=DEMO_COURSE).first()
    if course is None or NetworkSession.objects.filter(course=course, is_active=False).exists():
        return
    students = list(course.students.order_by("student_number"))
    now = timezone.now()
    with transaction.atomic():
        sessions = NetworkSession.objects.bulk_create(
            NetworkSession(
                course=course,
                date=timezone.localdate(now - timedelta(days=7 * (CLASSES - i))),
                started_at=now - timedelta(days=7 * (CLASSES - i)),
                ended_at=now - timedelta(days=7 * (CLASSES - i), minutes=-60),
                is_active=False,
                end_reason=NetworkSession.EndReason.ENDED,
                join_code="000000",
                code_rotated_at=now - timedelta(days=7 * (CLASSES - i)),
            )
            for i in range(CLASSES)
        )
        AttendanceRecord.objects.bulk_create(
            AttendanceRecord(
                session=session,
                student=student,
                status=PATTERN.get(n, ["present"] * CLASSES)[i],
                first_seen=None,
                created_at=session.ended_at,
                updated_at=session.ended_at,
            )
            for i, session in enumerate(sessions)
            for n, student in enumerate(students)
        )
        rebuild_course(course=course)
    if stdout is not None:
        stdout.write(f"Demo reports: {CLASSES} ended {DEMO_COURSE} classes, 3 students at risk.")
