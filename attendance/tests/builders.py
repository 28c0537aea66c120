"""Small builders shared by the attendance tests: a device joining a session."""

from datetime import datetime

from attendance.devices import register_device
from attendance.models import ConnectedDevice, NetworkSession, Student


def join(session: NetworkSession, student: Student, at: datetime) -> ConnectedDevice:
    """`student`'s new device joins `session` at `at` (what presence.py records on a join)."""
    device, _token = register_device(student=student, name="phone")
    return ConnectedDevice.objects.create(
        session=session, device=device, connected_at=at, last_seen_at=at
    )
