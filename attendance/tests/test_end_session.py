from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.devices import register_device
from attendance.models import AttendanceRecord, ConnectedDevice, NetworkSession
from attendance.sessions import end_session, start_session


def _join(session, student, at):
    device, _ = register_device(student=student, name="phone")
    return ConnectedDevice.objects.create(
        session=session, device=device, connected_at=at, last_seen_at=at
    )


@pytest.mark.django_db
def test_it_writes_present_late_and_absent(course, students, lecturer):
    now = timezone.now()
    session, created = start_session(course=course, by=lecturer, now=now)
    assert created
    _join(session, students[0], now + timedelta(minutes=2))
    _join(session, students[1], now + timedelta(minutes=11))
    result = end_session(session=session, by=lecturer, now=now + timedelta(minutes=50))
    assert (result.present, result.late, result.absent) == (1, 1, 3)
    session.refresh_from_db()
    assert not session.is_active and session.end_reason == "ended"
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert statuses[students[0].pk] == "present"
    assert statuses[students[1].pk] == "late"
    assert not ConnectedDevice.objects.filter(is_connected=True).exists()
    again = end_session(session=session, by=lecturer)
    assert again == result
    assert AttendanceRecord.objects.count() == 5
    assert NetworkSession.objects.count() == 1
