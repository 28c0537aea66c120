from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, ConnectedDevice, NetworkSession
from attendance.sessions import (
    cleanup_expired_sessions,
    end_all_active_sessions,
    end_session,
    start_session,
)
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def expired(course, students, lecturer, now):
    session, _ = start_session(course=course, by=lecturer, now=now - timedelta(hours=4, minutes=1))
    join(session, students[0], session.started_at + timedelta(minutes=1))
    return session


@pytest.fixture
def recent(other_course, make_students, other_lecturer, now):
    make_students(2, course=other_course, prefix="H")
    session, _ = start_session(course=other_course, by=other_lecturer, now=now - timedelta(hours=3))
    return session


def test_it_ends_sessions_older_than_the_limit_keeping_their_registers(expired, recent, now):
    result = cleanup_expired_sessions(now=now)
    assert [s.pk for s in result.sessions] == [expired.pk]
    assert result.records_written == 5
    expired.refresh_from_db()
    assert not expired.is_active and expired.end_reason == "expired"
    assert AttendanceRecord.objects.filter(session=expired, status="present").count() == 1
    recent.refresh_from_db()
    assert recent.is_active


def test_the_limit_comes_from_the_setting(expired, now, settings):
    settings.ATTENDANCE_SESSION_MAX_HOURS = 5
    assert cleanup_expired_sessions(now=now).sessions == []
    expired.refresh_from_db()
    assert expired.is_active


def test_hours_overrides_the_setting(expired, recent, now):
    result = cleanup_expired_sessions(hours=2, now=now)
    assert {s.pk for s in result.sessions} == {expired.pk, recent.pk}
    assert not NetworkSession.objects.filter(is_active=True).exists()


def test_a_dry_run_lists_but_changes_nothing(expired, now):
    connection = ConnectedDevice.objects.get(session=expired)
    result = cleanup_expired_sessions(now=now, dry_run=True)
    assert result.dry_run and [s.pk for s in result.sessions] == [expired.pk]
    assert result.ended == [] and result.devices_disconnected == 1
    expired.refresh_from_db()
    connection.refresh_from_db()
    assert expired.is_active and connection.is_connected
    assert not AttendanceRecord.objects.exists()


def test_devices_silent_for_three_heartbeats_are_disconnected(recent, make_students, now, settings):
    settings.ATTENDANCE_HEARTBEAT_SECONDS = 20
    alive_student, silent_student = make_students(2, course=recent.course, prefix="P")
    alive = join(recent, alive_student, now - timedelta(seconds=59))
    silent = join(recent, silent_student, now - timedelta(seconds=61))
    result = cleanup_expired_sessions(now=now)
    assert result.devices_disconnected == 1
    alive.refresh_from_db()
    silent.refresh_from_db()
    assert alive.is_connected
    assert not silent.is_connected and silent.disconnected_at == now
    recent.refresh_from_db()
    assert recent.is_active


def test_negative_hours_are_refused(expired):
    with pytest.raises(ValueError, match="negative"):
        cleanup_expired_sessions(hours=-1)
    expired.refresh_from_db()
    assert expired.is_active


def test_force_ends_every_active_session_with_its_register(expired, recent, staff_user, now):
    result = end_all_active_sessions(by=staff_user, now=now)
    assert len(result.ended) == 2 and result.records_written == 7
    for session in (expired, recent):
        session.refresh_from_db()
        assert (session.is_active, session.end_reason) == (False, "forced")
        assert session.ended_by == staff_user


def test_force_with_dry_run_changes_nothing(expired, recent):
    result = end_all_active_sessions(dry_run=True)
    assert len(result.sessions) == 2 and result.ended == []
    assert NetworkSession.objects.filter(is_active=True).count() == 2


def test_a_session_ended_meanwhile_by_someone_else_is_not_reported_as_ours(
    expired, now, monkeypatch
):
    from attendance import sessions

    listed = sessions.expired_sessions(hours=4, now=now)
    end_session(session=expired, now=now - timedelta(seconds=5))
    # The lecturer's end landed between this sweep's listing and its end_session.
    monkeypatch.setattr(sessions, "expired_sessions", lambda **kwargs: listed)
    result = sessions.cleanup_expired_sessions(now=now)
    assert [s.pk for s in result.sessions] == [expired.pk]
    assert result.ended == [] and result.records_written == 0
    expired.refresh_from_db()
    assert expired.end_reason == "ended"
