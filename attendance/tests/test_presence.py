"""Presence rules: one row per device and session, throttled heartbeats, the sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance import presence
from attendance.devices import register_device, revoke_device
from attendance.models import ConnectedDevice
from attendance.sessions import end_session, start_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(course, students):
    return start_session(course=course, by=None)[0]


@pytest.fixture
def device(students):
    return register_device(student=students[0], name="phone")[0]


def test_joining_twice_keeps_one_row_and_the_first_join_time(device, session):
    start = timezone.now()
    presence.join_by_code(device=device, code=session.join_code, ip_address="10.0.0.7", now=start)
    presence.join_by_code(
        device=device,
        code=session.join_code,
        ip_address="10.0.0.8",
        now=start + timedelta(minutes=5),
    )
    [row] = ConnectedDevice.objects.filter(device=device)
    assert row.connected_at == start
    assert row.ip_address == "10.0.0.8"
    assert row.last_seen_at == start + timedelta(minutes=5)


def test_a_reattach_costs_two_queries(device, session, django_assert_num_queries):
    presence.join_by_code(device=device, code=session.join_code)
    # The session with the device's row, then the upsert.
    with django_assert_num_queries(2):
        joined = presence.join_by_session(device=device, session_id=session.pk)
    assert joined.pk == session.pk and joined.course_code == session.course.code


def test_a_reattach_to_an_ended_or_unknown_session_is_refused(device, session):
    presence.join_by_code(device=device, code=session.join_code)
    end_session(session=session)
    for session_id in (session.pk, session.pk + 1000):
        with pytest.raises(presence.JoinRefused) as refused:
            presence.join_by_session(device=device, session_id=session_id)
        assert refused.value.code == "no_active_session"
    assert not ConnectedDevice.objects.filter(is_connected=True).exists()


def test_a_heartbeat_outside_a_session_is_one_statement(device, django_assert_num_queries):
    # The hello's heartbeat: a reconnecting class pays it once per device.
    with django_assert_num_queries(1):
        presence.heartbeat(device=device, session_id=None, last_written=None)
    device.refresh_from_db()
    assert device.last_used_at is not None


def test_a_heartbeat_within_the_interval_costs_no_query(device, session, django_assert_num_queries):
    # A revocation is pushed to the socket; the next write checks it anyway.
    now = timezone.now()
    presence.join_by_code(device=device, code=session.join_code, now=now)
    with django_assert_num_queries(0):
        written = presence.heartbeat(
            device=device,
            session_id=session.pk,
            last_written=now,
            now=now + timedelta(seconds=5),
        )
    assert written == now
    assert ConnectedDevice.objects.get(device=device).last_seen_at == now


def test_a_heartbeat_after_the_interval_writes_last_seen(device, session, settings):
    now = timezone.now()
    presence.join_by_code(device=device, code=session.join_code, now=now)
    later = now + timedelta(seconds=settings.ATTENDANCE_HEARTBEAT_SECONDS)
    assert (
        presence.heartbeat(device=device, session_id=session.pk, last_written=now, now=later)
        == later
    )
    assert ConnectedDevice.objects.get(device=device).last_seen_at == later


def test_the_sweep_disconnects_devices_silent_for_three_intervals(device, session, settings):
    now = timezone.now()
    presence.join_by_code(device=device, code=session.join_code, now=now)
    interval = settings.ATTENDANCE_HEARTBEAT_SECONDS
    assert presence.sweep_silent_devices(now=now + timedelta(seconds=3 * interval - 1)) == 0
    assert presence.sweep_silent_devices(now=now + timedelta(seconds=3 * interval + 1)) == 1
    row = ConnectedDevice.objects.get(device=device)
    assert not row.is_connected and row.disconnected_at is not None


def test_a_heartbeat_brings_back_a_swept_device(device, session, settings):
    now = timezone.now()
    presence.join_by_code(device=device, code=session.join_code, now=now)
    presence.sweep_silent_devices(now=now + timedelta(hours=1))
    presence.heartbeat(
        device=device, session_id=session.pk, last_written=None, now=now + timedelta(hours=1)
    )
    row = ConnectedDevice.objects.get(device=device)
    assert row.is_connected and row.disconnected_at is None


def test_a_revoked_device_cannot_heartbeat_or_join(device, session):
    revoke_device(device=device)
    with pytest.raises(presence.DeviceRevoked):
        presence.heartbeat(device=device, session_id=None, last_written=None)
    with pytest.raises(presence.DeviceRevoked):
        presence.join_by_code(device=device, code=session.join_code)
    assert not ConnectedDevice.objects.exists()


def test_leaving_keeps_the_row_but_marks_it_disconnected(device, session):
    presence.join_by_code(device=device, code=session.join_code)
    assert presence.leave(device=device, session_id=session.pk) is True
    assert presence.leave(device=device, session_id=session.pk) is False
    row = ConnectedDevice.objects.get(device=device)
    assert not row.is_connected


def test_leaves_go_in_one_statement_whatever_their_number(
    students, session, django_assert_num_queries
):
    devices = [register_device(student=student, name="phone")[0] for student in students]
    for device in devices[:4]:
        presence.join_by_code(device=device, code=session.join_code)
    one = [presence.LeaveRequest(device=devices[0], session_id=session.pk)]
    # Joined, joined, never joined, and a second request for the same device.
    many = [
        presence.LeaveRequest(device=devices[1], session_id=session.pk),
        presence.LeaveRequest(device=devices[2], session_id=session.pk),
        presence.LeaveRequest(device=devices[4], session_id=session.pk),
        presence.LeaveRequest(device=devices[2], session_id=session.pk),
    ]

    # A savepoint, the UPDATE, the session's course for its count push, the release.
    with django_assert_num_queries(4):
        assert presence.leave_many(one) == [True]
    with django_assert_num_queries(4):
        assert presence.leave_many(many) == [True, True, False, True]

    connected = set(
        ConnectedDevice.objects.filter(is_connected=True).values_list("device_id", flat=True)
    )
    assert connected == {devices[3].pk}
    assert presence.leave_many(one) == [False]  # gone already: nothing changes
    assert presence.leave_many([]) == []


def test_five_wrong_codes_lock_the_device_out_for_a_minute(device, session):
    wrong = "000000" if session.join_code != "000000" else "111111"
    for _ in range(presence.BAD_CODES_PER_MINUTE):
        with pytest.raises(presence.JoinRefused) as refused:
            presence.join_by_code(device=device, code=wrong)
        assert refused.value.code == "invalid_code"
    with pytest.raises(presence.JoinRefused) as refused:
        presence.join_by_code(device=device, code=session.join_code)
    assert refused.value.code == "rate_limited"
    assert not ConnectedDevice.objects.exists()


@pytest.mark.redis
def test_wrong_codes_are_counted_in_redis_for_every_process(device, session, settings):
    import redis

    from conftest import test_redis_url

    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.SharedRedisCache",
            "LOCATION": test_redis_url(),
            "KEY_PREFIX": "rollcall-test",
        }
    }
    wrong = "000000" if session.join_code != "000000" else "111111"
    for _ in range(2):
        with pytest.raises(presence.JoinRefused):
            presence.join_by_code(device=device, code=wrong)
    # Another process sees the same counter: it lives in Redis, not in this process.
    client = redis.Redis.from_url(test_redis_url())
    [key] = client.keys(f"rollcall-test:*join-bad-codes:{device.public_id}")
    assert int(client.get(key)) == 2
    assert 0 < client.ttl(key) <= presence.BAD_CODE_WINDOW_SECONDS
    client.delete(key)


def test_a_join_costs_the_same_few_queries_every_time(device, session, django_assert_num_queries):
    presence.join_by_code(device=device, code=session.join_code)
    # The look-up with the enrolment, then the upsert that checks session and device.
    with django_assert_num_queries(2):
        presence.join_by_code(device=device, code=session.join_code)
