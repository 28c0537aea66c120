"""The student's own pages: a student with a login, the office, a billed term."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession
from payments.tests.builders import current_term


@pytest.fixture
def pupil(make_user, ada):
    """Ada's login (a student: the student's navigation and pages)."""
    user = make_user("ada")
    ada.user = user
    ada.save(update_fields=["user"])
    return user


@pytest.fixture
def pupil_client(client, pupil):
    client.force_login(pupil)
    return client


@pytest.fixture
def term(db):
    return current_term(year=2026, billed=True)


@pytest.fixture
def add_sessions(db):
    """Ended sessions of `course` with `student`'s record in each, oldest first."""

    def add(course: Course, student, statuses: list[str], *, days_ago: int = 30):
        now = timezone.now()
        made = []
        for i, status in enumerate(statuses):
            started = now - timedelta(days=days_ago - i, hours=1)
            session = NetworkSession.objects.create(
                course=course,
                date=timezone.localdate(started),
                started_at=started,
                ended_at=started + timedelta(hours=1),
                is_active=False,
                end_reason="ended",
                join_code="000000",
                code_rotated_at=started,
            )
            AttendanceRecord.objects.create(
                session=session,
                student=student,
                status=status,
                created_at=started,
                updated_at=started,
            )
            made.append(session)
        return made

    return add


@pytest.fixture
def make_courses(db):
    def make(student, n: int) -> list[Course]:
        start = Course.objects.count()
        courses = [
            Course.objects.create(code=f"C{start + i:03d}", title=f"Course {start + i}")
            for i in range(n)
        ]
        Enrollment.objects.bulk_create(Enrollment(course=c, student=student) for c in courses)
        return courses

    return make
