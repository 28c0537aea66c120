"""Every invariant is a database constraint: direct inserts that break one fail."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import AttendanceRecord, ConnectedDevice, Device, NetworkSession

pytestmark = pytest.mark.django_db


def new_session(course, *, code: str, active: bool = True) -> NetworkSession:
    now = timezone.now()
    return NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(now),
        started_at=now,
        join_code=code,
        code_rotated_at=now,
        is_active=active,
        ended_at=None if active else now,
        end_reason="" if active else "ended",
    )


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_one_active_session_per_course_and_date(course):
    new_session(course, code="123456")
    refused(lambda: new_session(course, code="654321"))
    new_session(course, code="654321", active=False)
    assert NetworkSession.objects.count() == 2


def test_active_join_codes_are_unique(course, other_course):
    new_session(course, code="123456")
    refused(lambda: new_session(other_course, code="123456"))


def test_one_connection_per_session_and_device(course, students):
    session = new_session(course, code="123456")
    device = Device.objects.create(student=students[0], name="p", token_hash="h", slot=1)
    now = timezone.now()
    ConnectedDevice.objects.create(
        session=session, device=device, connected_at=now, last_seen_at=now
    )
    refused(
        lambda: ConnectedDevice.objects.create(
            session=session, device=device, connected_at=now, last_seen_at=now
        )
    )


def test_one_record_per_session_and_student(course, students):
    session = new_session(course, code="123456")
    now = timezone.now()

    def record():
        return AttendanceRecord.objects.create(
            session=session, student=students[0], status="present", created_at=now, updated_at=now
        )

    record()
    refused(record)


def test_a_record_status_must_be_known(course, students):
    session = new_session(course, code="123456")
    now = timezone.now()
    refused(
        lambda: AttendanceRecord.objects.create(
            session=session, student=students[0], status="asleep", created_at=now, updated_at=now
        )
    )


def test_an_ended_session_needs_its_end_fields(course):
    now = timezone.now()
    refused(
        lambda: NetworkSession.objects.create(
            course=course,
            date=timezone.localdate(now),
            started_at=now,
            join_code="123456",
            code_rotated_at=now,
            is_active=False,
        )
    )


def test_a_join_code_is_six_digits(course):
    refused(lambda: new_session(course, code="12a456"))


def test_two_active_devices_cannot_share_a_slot(students):
    Device.objects.create(student=students[0], name="a", token_hash="h", slot=1)
    refused(lambda: Device.objects.create(student=students[0], name="b", token_hash="h", slot=1))
    refused(lambda: Device.objects.create(student=students[0], name="c", token_hash="h", slot=None))
