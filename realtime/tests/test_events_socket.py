"""The /ws/events/ socket: auth by cookie or token, snapshot, event shapes, visibility."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from attendance import codes, presence
from attendance.models import ApiToken, NetworkSession
from attendance.sessions import end_session, start_session
from attendance.tokens import create_api_token, revoke_api_token
from realtime.events import EventsConsumer
from realtime.tests.sockets import HOST, ORIGIN, closed_with, next_event, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _events(ws_app, cookie) -> object:
    return await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST, cookie))


async def _by_token(ws_app, key) -> object:
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": key})
    return communicator


async def test_a_lecturer_gets_a_snapshot_of_their_running_sessions(
    ws_app, cookie_for, lecturer, session, other_course, other_lecturer
):
    await database_sync_to_async(start_session)(course=other_course, by=other_lecturer)
    communicator = await _events(ws_app, await database_sync_to_async(cookie_for)(lecturer))
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert [(s["course"], s["session"], s["code"]) for s in snapshot["sessions"]] == [
        (session.course_id, session.pk, session.join_code)
    ]
    assert snapshot["sessions"][0]["enrolled"] == 5
    await communicator.disconnect()


async def test_it_authenticates_a_program_by_api_token(ws_app, api_key, session):
    communicator = await _by_token(ws_app, api_key)
    snapshot = await communicator.receive_json_from(timeout=5)
    assert [s["session"] for s in snapshot["sessions"]] == [session.pk]
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.parametrize(
    "frame",
    [{"type": "auth", "token": "abc.def"}, {"type": "auth"}, {"type": "ping"}],
    ids=["bad-token", "no-token", "not-auth"],
)
async def test_it_closes_4401_without_a_valid_token(ws_app, course, frame):
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to(frame)
    assert await closed_with(communicator) == 4401


@pytest.mark.parametrize(
    "token", ["\x00.x", "\ud800.x", "{prefix}\x00.x", "{key}\ud800", "{key}\x00"]
)
async def test_it_closes_4401_on_a_token_no_key_could_be(ws_app, api_key, course, token):
    # A NUL reached PostgreSQL's prefix look-up, a lone surrogate the hash: 1011 both.
    token = token.format(prefix=api_key.split(".")[0], key=api_key)
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": token})
    assert await closed_with(communicator) == 4401


async def test_it_closes_4401_when_no_token_comes_in_time(ws_app, monkeypatch):
    monkeypatch.setattr(EventsConsumer, "auth_timeout", 0.05)
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    assert await closed_with(communicator) == 4401


async def test_it_closes_4403_for_a_user_who_may_see_no_course(ws_app, make_user, course):
    outsider = await database_sync_to_async(make_user)("outsider")
    _, key = await database_sync_to_async(create_api_token)(user=outsider, name="x")
    communicator = await _by_token(ws_app, key)
    assert await closed_with(communicator) == 4403


async def test_it_closes_4403_for_a_cookie_user_who_may_see_no_course(
    ws_app, make_user, cookie_for, course
):
    outsider = await database_sync_to_async(make_user)("outsider")
    communicator = await _events(ws_app, await database_sync_to_async(cookie_for)(outsider))
    assert await closed_with(communicator) == 4403


async def test_it_sends_every_event_in_its_documented_shape(
    ws_app, cookie_for, lecturer, course, students, device_and_token, settings
):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    communicator = await _events(ws_app, await database_sync_to_async(cookie_for)(lecturer))
    assert (await communicator.receive_json_from(timeout=5))["sessions"] == []

    session, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)
    started = await communicator.receive_json_from(timeout=5)
    assert started == {
        "type": "session.started",
        "course": course.pk,
        "session": session.pk,
        "started_at": session.started_at.isoformat(),
    }
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "session.code",
        "course": course.pk,
        "session": session.pk,
        "code": session.join_code,
        "expires_at": (session.code_rotated_at + timedelta(seconds=30)).isoformat(),
    }

    device, _ = device_and_token
    await database_sync_to_async(presence.join_by_code)(device=device, code=session.join_code)
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "session.counts",
        "course": course.pk,
        "session": session.pk,
        "connected": 1,
        "checked_in": 1,
        "enrolled": 5,
    }

    due = timezone.now() - timedelta(seconds=31)
    await database_sync_to_async(NetworkSession.objects.filter(pk=session.pk).update)(
        code_rotated_at=due
    )
    await database_sync_to_async(codes.rotate_due_codes)()
    rotated = await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(session.refresh_from_db)()
    assert rotated == {
        "type": "session.code",
        "course": course.pk,
        "session": session.pk,
        "code": session.join_code,
        "expires_at": (session.code_rotated_at + timedelta(seconds=30)).isoformat(),
    }

    result = await database_sync_to_async(end_session)(session=session, by=lecturer)
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "session.ended",
        "course": course.pk,
        "session": session.pk,
        "ended_at": result.ended_at.isoformat(),
        "reason": "ended",
        "present": 1,
        "late": 0,
        "absent": 4,
    }
    await communicator.disconnect()


async def test_another_lecturer_hears_nothing_of_my_course(
    ws_app, cookie_for, lecturer, other_lecturer, course, other_course
):
    mine = await _events(ws_app, await database_sync_to_async(cookie_for)(lecturer))
    theirs = await _events(ws_app, await database_sync_to_async(cookie_for)(other_lecturer))
    await mine.receive_json_from(timeout=5)
    await theirs.receive_json_from(timeout=5)
    session, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)
    assert (await mine.receive_json_from(timeout=5))["session"] == session.pk
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_staff_hear_every_course(
    ws_app, cookie_for, staff_user, lecturer, course, other_course, other_lecturer
):
    communicator = await _events(ws_app, await database_sync_to_async(cookie_for)(staff_user))
    await communicator.receive_json_from(timeout=5)
    first, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)
    second, _ = await database_sync_to_async(start_session)(course=other_course, by=other_lecturer)
    got = {(await next_event(communicator, "session.started"))["session"] for _ in range(2)}
    assert got == {first.pk, second.pk}
    await communicator.disconnect()


async def test_it_answers_unknown_types_after_auth_with_an_error(ws_app, api_key, course):
    communicator = await _by_token(ws_app, api_key)
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "subscribe"})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "unknown_type"
    await communicator.disconnect()


async def test_revoking_its_token_closes_the_socket_at_once(ws_app, api_key, session):
    communicator = await _by_token(ws_app, api_key)
    await communicator.receive_json_from(timeout=5)  # the snapshot
    token = await database_sync_to_async(ApiToken.objects.get)(prefix=api_key.split(".")[0])
    await database_sync_to_async(revoke_api_token)(token=token)
    # Not a single event more: the next thing the program hears is the close.
    assert await closed_with(communicator) == 4401


async def test_revoking_another_token_leaves_the_socket_open(ws_app, api_key, lecturer, session):
    other, _key = await database_sync_to_async(create_api_token)(user=lecturer, name="other")
    communicator = await _by_token(ws_app, api_key)
    await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(revoke_api_token)(token=other)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()
