"""Small builders shared by the attendance tests: a device joining a session."""

from datetime import datetime

from attendance.devices import register_device
from attendance.models import ConnectedDevice, NetworkSession, Student


def join(session: NetworkSession, student: Student, at: datetime) -> ConnectedDevice:
    """One of `student`'s devices joins `session` at `at` (what presence.py records on a join).

    A device not yet in this session is reused; a second join in the same
    session registers the student's next device.
    """
    device = (
        student.devices.filter(is_active=True).exclude(connections__session=session).first()
        or register_device(student=student, name="phone")[0]
    )
    return ConnectedDevice.objects.create(
        session=session, device=device, connected_at=at, last_seen_at=at
    )
