import pytest

from attendance.models import AttendanceChange, AttendanceRecord
from attendance.registers import InvalidMark, mark_attendance
from attendance.sessions import end_session, start_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session)
    return AttendanceRecord.objects.get(session=session, student=students[0])


def test_it_changes_the_status_and_writes_the_audit_row(record, lecturer):
    mark_attendance(record=record, status="excused", by=lecturer, reason=" Doctor's note ")
    record.refresh_from_db()
    assert (record.status, record.source) == ("excused", "manual")
    change = AttendanceChange.objects.get(record=record)
    assert (change.from_status, change.to_status) == ("absent", "excused")
    assert change.changed_by == lecturer and change.reason == "Doctor's note"


def test_marking_the_same_status_writes_nothing(record, lecturer):
    mark_attendance(record=record, status="absent", by=lecturer, reason="checked")
    record.refresh_from_db()
    assert record.source == "device"
    assert not AttendanceChange.objects.exists()


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        ("asleep", "because", "Unknown status"),
        ("present", "   ", "Give a reason"),
        ("present", "x" * 501, "under 500"),
        ("present", "late\x00", "null character"),
    ],
)
def test_bad_marks_are_refused_and_change_nothing(record, lecturer, status, reason, message):
    with pytest.raises(InvalidMark, match=message):
        mark_attendance(record=record, status=status, by=lecturer, reason=reason)
    record.refresh_from_db()
    assert record.status == "absent"
    assert not AttendanceChange.objects.exists()
