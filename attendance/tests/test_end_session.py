from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, ConnectedDevice, Device, NetworkSession
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(course, students, lecturer):
    now = timezone.now().replace(microsecond=0)
    session, created = start_session(course=course, by=lecturer, now=now)
    assert created
    return session


def session_at(course, when, code: str) -> NetworkSession:
    """An active session of `course` started at `when` (left open: stale, if long ago)."""
    return NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(when),
        started_at=when,
        join_code=code,
        code_rotated_at=when,
    )


def statuses(session) -> dict[int, str]:
    return dict(
        AttendanceRecord.objects.filter(session=session).values_list("student_id", "status")
    )


def test_it_writes_present_late_and_absent(started, students, lecturer):
    now = started.started_at
    join(started, students[0], now + timedelta(minutes=2))
    join(started, students[1], now + timedelta(minutes=11))
    result = end_session(session=started, by=lecturer, now=now + timedelta(minutes=50))
    assert (result.present, result.late, result.absent, result.excused) == (1, 1, 3, 0)
    started.refresh_from_db()
    assert not started.is_active and started.end_reason == "ended"
    assert started.ended_by == lecturer
    assert started.ended_at == now + timedelta(minutes=50)
    marks = statuses(started)
    assert marks[students[0].pk] == "present"
    assert marks[students[1].pk] == "late"
    assert [marks[s.pk] for s in students[2:]] == ["absent"] * 3


def test_a_join_exactly_at_the_threshold_is_present_and_just_after_is_late(
    started, students, settings
):
    settings.ATTENDANCE_LATE_AFTER_MINUTES = 10
    threshold = started.started_at + timedelta(minutes=10)
    join(started, students[0], threshold)
    join(started, students[1], threshold + timedelta(microseconds=1))
    join(started, students[2], threshold + timedelta(seconds=1))
    end_session(session=started, now=threshold + timedelta(minutes=30))
    marks = statuses(started)
    assert marks[students[0].pk] == "present"
    assert marks[students[1].pk] == "late"
    assert marks[students[2].pk] == "late"


def test_the_late_threshold_comes_from_the_setting(started, students, settings):
    settings.ATTENDANCE_LATE_AFTER_MINUTES = 30
    join(started, students[0], started.started_at + timedelta(minutes=20))
    end_session(session=started, now=started.started_at + timedelta(minutes=40))
    assert statuses(started)[students[0].pk] == "present"


def test_a_student_with_two_devices_counts_once_from_the_first_join(started, students):
    join(started, students[0], started.started_at + timedelta(minutes=15))
    join(started, students[0], started.started_at + timedelta(minutes=1))
    result = end_session(session=started, now=started.started_at + timedelta(minutes=40))
    assert result.present == 1 and result.records == 5
    record = AttendanceRecord.objects.get(session=started, student=students[0])
    assert record.first_seen == started.started_at + timedelta(minutes=1)


def test_inactive_students_get_no_record(started, students):
    students[4].is_active = False
    students[4].save()
    result = end_session(session=started)
    assert result.records == 4
    assert students[4].pk not in statuses(started)


def test_records_written_by_hand_before_the_end_are_kept(started, students):
    now = timezone.now()
    AttendanceRecord.objects.create(
        session=started,
        student=students[0],
        status="excused",
        source="manual",
        created_at=now,
        updated_at=now,
    )
    join(started, students[0], started.started_at + timedelta(minutes=1))
    result = end_session(session=started)
    assert result.excused == 1 and result.records == 5
    record = AttendanceRecord.objects.get(session=started, student=students[0])
    assert (record.status, record.source) == ("excused", "manual")


def test_it_disconnects_every_device(started, students):
    connections = [join(started, s, started.started_at) for s in students[:3]]
    end_at = started.started_at + timedelta(minutes=45)
    end_session(session=started, now=end_at)
    for connection in connections:
        connection.refresh_from_db()
        assert not connection.is_connected
        assert connection.disconnected_at == end_at


def test_ending_again_returns_the_same_result_and_writes_nothing(started, students, lecturer):
    join(started, students[0], started.started_at)
    first = end_session(session=started, by=lecturer)
    written = list(AttendanceRecord.objects.values_list("pk", "status", "updated_at"))
    again = end_session(session=started, by=None, reason="forced")
    assert again == first
    assert list(AttendanceRecord.objects.values_list("pk", "status", "updated_at")) == written
    started.refresh_from_db()
    assert started.end_reason == "ended" and started.ended_by == lecturer


def test_an_unknown_reason_is_refused_and_changes_nothing(started):
    with pytest.raises(ValueError, match="Unknown end reason"):
        end_session(session=started, reason="bored")
    started.refresh_from_db()
    assert started.is_active
    assert not AttendanceRecord.objects.exists()


def test_it_supersedes_an_older_stale_session_of_the_course_with_its_register(
    course, students, lecturer
):
    yesterday = timezone.now() - timedelta(days=1)
    stale = session_at(course, yesterday, "111111")
    join(stale, students[0], yesterday + timedelta(minutes=1))
    today = session_at(course, timezone.now(), "222222")
    end_session(session=today)
    stale.refresh_from_db()
    assert not stale.is_active and stale.end_reason == "superseded"
    assert statuses(stale)[students[0].pk] == "present"
    assert len(statuses(stale)) == 5


def test_the_register_hooks_hear_of_a_superseded_register_in_the_same_one_call(
    course, students, settings
):
    """Each call locks its students' standings in id order; two calls (the stale
    register's, then today's) could each want a row below those it held."""
    heard = []
    settings.ATTENDANCE_REGISTER_HOOKS = ["attendance.tests.test_end_session.hook"]
    hook.calls = heard
    stale = session_at(course, timezone.now() - timedelta(days=1), "111111")
    today = session_at(course, timezone.now(), "222222")
    end_session(session=today)
    stale.refresh_from_db()
    assert stale.end_reason == "superseded" and len(statuses(stale)) == len(students)
    assert heard == [(course.pk, sorted(s.pk for s in students))]


def hook(*, course_id, student_ids):
    hook.calls.append((course_id, list(student_ids)))


def test_ending_an_old_session_never_ends_a_newer_one(course, students):
    old = session_at(course, timezone.now() - timedelta(days=1), "111111")
    newer, _ = start_session(course=course, by=None)
    # start_session already superseded the old one; a late "end" of it must
    # leave today's class running.
    old.refresh_from_db()
    assert old.end_reason == "superseded"
    end_session(session=old)
    newer.refresh_from_db()
    assert newer.is_active


@pytest.mark.parametrize("class_size", [5, 500])
def test_its_query_count_does_not_grow_with_the_class(
    course, make_students, class_size, django_assert_num_queries
):
    students = make_students(class_size, course=course)
    session, _ = start_session(course=course, by=None)
    devices = Device.objects.bulk_create(
        Device(student=s, name="phone", token_hash="x" * 64, slot=1) for s in students
    )
    at = session.started_at
    ConnectedDevice.objects.bulk_create(
        ConnectedDevice(session=session, device=d, connected_at=at, last_seen_at=at)
        for d in devices[::2]
    )
    # Nine of its own; the register's students for the hook, and the hook's five (the
    # reports' standings, no one falling after one session).
    with django_assert_num_queries(9 + 1 + 5):
        result = end_session(session=session)
    assert result.records == class_size
    assert result.present == len(devices[::2])


def test_it_announces_the_end_once_with_each_students_status(started, students, monkeypatch):
    from realtime import broadcast

    announced = []
    monkeypatch.setattr(
        broadcast, "publish", lambda groups, event: announced.append((groups, event))
    )
    join(started, students[0], started.started_at)
    join(started, students[1], started.started_at + timedelta(minutes=20))
    result = end_session(session=started, now=started.started_at + timedelta(minutes=30))
    end_session(session=started)
    assert announced == [
        (
            [f"course-{started.course_id}", "courses-all"],
            {
                "type": "session.ended",
                "course": started.course_id,
                "session": started.pk,
                "ended_at": result.ended_at.isoformat(),
                "reason": "ended",
                "present": 1,
                "late": 1,
                "absent": result.absent,
            },
        ),
        (
            [f"session-{started.pk}-devices"],
            {
                "type": "session.ended",
                "session": started.pk,
                "statuses": {str(students[0].pk): "present", str(students[1].pk): "late"},
            },
        ),
    ]
