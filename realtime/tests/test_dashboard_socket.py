"""The /ws/dashboard/ socket: cookie auth, HTML snapshot, live fragments, visibility."""

import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from attendance import codes, presence
from attendance.models import NetworkSession
from attendance.sessions import end_session, start_session
from realtime.tests.sockets import HOST, ORIGIN, closed_with, next_fragment, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _dashboard(ws_app, cookie_for, user):
    cookie = await database_sync_to_async(cookie_for)(user)
    return await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))


def _count(html: str, name: str) -> int:
    return int(re.search(rf'data-count="{name}">(\d+)<', html).group(1))


async def test_it_closes_4401_for_an_anonymous_visitor(ws_app):
    communicator = await open_socket(ws_app, "/ws/dashboard/")
    assert await closed_with(communicator) == 4401


async def test_it_closes_4403_for_a_user_who_teaches_nothing(ws_app, cookie_for, make_user):
    outsider = await database_sync_to_async(make_user)("outsider")
    communicator = await _dashboard(ws_app, cookie_for, outsider)
    assert await closed_with(communicator) == 4403


async def test_it_starts_with_the_cards_as_the_page_renders_them(
    ws_app, cookie_for, lecturer, session, other_course
):
    communicator = await _dashboard(ws_app, cookie_for, lecturer)
    html = await communicator.receive_from(timeout=5)
    assert html.startswith('<div class="cards" id="cards" hx-swap-oob="true"')
    assert f'id="course-{session.course_id}"' in html
    assert f'id="course-{other_course.pk}"' not in html
    assert session.join_code in html
    assert f"http://127.0.0.1/device/?code={session.join_code}" in html
    assert "<svg" in html
    await communicator.disconnect()


async def test_it_pushes_counts_as_they_change(
    ws_app, cookie_for, lecturer, session, device_and_token
):
    communicator = await _dashboard(ws_app, cookie_for, lecturer)
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(presence.join_by_code)(
        device=device_and_token[0], code=session.join_code
    )
    # The name list is pushed too, by a publisher of its own: either may come first.
    html = await next_fragment(communicator, f'<dl class="counts" id="counts-{session.pk}"')
    assert html.startswith(f'<dl class="counts" id="counts-{session.pk}" hx-swap-oob="true">')
    assert (_count(html, "connected"), _count(html, "checked_in"), _count(html, "enrolled")) == (
        1,
        1,
        5,
    )
    await communicator.disconnect()


async def test_it_pushes_the_card_when_a_session_starts_rotates_and_ends(
    ws_app, cookie_for, lecturer, course, students, settings
):
    communicator = await _dashboard(ws_app, cookie_for, lecturer)
    await communicator.receive_from(timeout=5)

    session, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)
    started = await communicator.receive_from(timeout=5)
    assert started.startswith(f'<article class="card running" id="course-{course.pk}"')
    assert session.join_code in started

    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    await database_sync_to_async(NetworkSession.objects.filter(pk=session.pk).update)(
        code_rotated_at=timezone.now() - timedelta(seconds=31)
    )
    await database_sync_to_async(codes.rotate_due_codes)()
    await database_sync_to_async(session.refresh_from_db)()
    rotated = await next_fragment(
        communicator, f'<article class="card running" id="course-{course.pk}"'
    )
    while f"<strong data-code>{session.join_code}</strong>" not in rotated:
        rotated = await next_fragment(communicator, '<article class="card running"')
    assert f"<strong data-code>{session.join_code}</strong>" in rotated
    assert f"/device/?code={session.join_code}" in rotated

    await database_sync_to_async(end_session)(session=session, by=lecturer)
    ended = await next_fragment(communicator, f'<article class="card" id="course-{course.pk}"')
    assert ended.startswith(f'<article class="card" id="course-{course.pk}"')
    assert "Start session" in ended
    await communicator.disconnect()


async def test_another_lecturer_sees_nothing_of_my_course(
    ws_app, cookie_for, lecturer, other_lecturer, course, other_course
):
    theirs = await _dashboard(ws_app, cookie_for, other_lecturer)
    snapshot = await theirs.receive_from(timeout=5)
    assert f'id="course-{course.pk}"' not in snapshot
    await database_sync_to_async(start_session)(course=course, by=lecturer)
    assert await theirs.receive_nothing(timeout=0.3)
    await theirs.disconnect()


async def test_staff_see_every_course(ws_app, cookie_for, staff_user, course, other_course):
    communicator = await _dashboard(ws_app, cookie_for, staff_user)
    html = await communicator.receive_from(timeout=5)
    assert f'id="course-{course.pk}"' in html and f'id="course-{other_course.pk}"' in html
    await communicator.disconnect()
