"""The live name list: pushed to the course's lecturers' dashboards, to nobody else."""

import pytest
from channels.db import database_sync_to_async

from attendance import presence
from realtime.tests.sockets import HOST, ORIGIN, next_fragment, open_device, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _dashboard(ws_app, cookie_for, user):
    cookie = await database_sync_to_async(cookie_for)(user)
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    await communicator.receive_from(timeout=5)  # the snapshot
    return communicator


async def test_the_card_starts_with_everyone_not_yet_checked_in(
    ws_app, cookie_for, lecturer, session, students
):
    cookie = await database_sync_to_async(cookie_for)(lecturer)
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    snapshot = await communicator.receive_from(timeout=5)
    assert f'id="roster-{session.pk}"' in snapshot
    assert 'data-roster="waiting">5<' in snapshot and "Nobody yet." in snapshot
    await communicator.disconnect()


async def test_a_join_moves_the_student_to_checked_in_on_the_lecturers_dashboard(
    ws_app, cookie_for, lecturer, session, students, device_and_token
):
    communicator = await _dashboard(ws_app, cookie_for, lecturer)
    await database_sync_to_async(presence.join_by_code)(
        device=device_and_token[0], code=session.join_code
    )
    html = await next_fragment(communicator, f'<div class="roster" id="roster-{session.pk}"')
    assert 'hx-swap-oob="true"' in html
    checked_in = html.split('class="roster-in"', 1)[1]
    waiting = html.split('class="roster-in"', 1)[0]
    assert students[0].full_name in checked_in and students[0].full_name not in waiting
    assert 'data-roster="checked_in">1<' in html and 'data-roster="waiting">4<' in html
    await communicator.disconnect()


async def test_names_reach_no_other_lecturer_no_program_and_no_device(
    ws_app, cookie_for, lecturer, other_lecturer, other_course, session, students, device_and_token
):
    from attendance.tokens import create_api_token

    theirs = await _dashboard(ws_app, cookie_for, other_lecturer)
    _token, key = await database_sync_to_async(create_api_token)(user=lecturer, name="app")
    program = await open_socket(ws_app, "/ws/events/", headers=(HOST,))
    await program.send_json_to({"type": "auth", "token": key})
    await program.receive_json_from(timeout=5)  # the snapshot
    device, token = device_and_token
    phone = await open_device(ws_app, device, token)
    await phone.send_json_to({"type": "join", "code": session.join_code})
    assert (await phone.receive_json_from(timeout=5))["type"] == "joined"

    # The lecturer's own program hears the counts, without a name.
    frames = []
    while not await program.receive_nothing(timeout=1):
        frames.append(await program.receive_from(timeout=1))
    assert any('"session.counts"' in frame for frame in frames)
    assert not any(students[0].first_name in frame or "roster" in frame for frame in frames)
    assert await theirs.receive_nothing(timeout=0.3)
    assert await phone.receive_nothing(timeout=0.3)
    for communicator in (theirs, program, phone):
        await communicator.disconnect()
