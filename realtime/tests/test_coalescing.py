"""Count updates: latest wins, leading edge at once, trailing value always delivered."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from attendance import presence
from attendance.devices import register_device
from realtime import broadcast
from realtime.coalesce import LatestWins
from realtime.tests.sockets import HOST, ORIGIN, open_socket


def _event(version: int, connected: int) -> dict:
    return {"type": "session.counts", "session": 1, "connected": connected, "version": version}


async def test_a_subscriber_sends_the_first_change_at_once_and_the_last_one_later():
    pushed = []

    async def push(event):
        pushed.append(event["connected"])

    coalescer = LatestWins(push, spacing=0.05)
    coalescer.offer(1, _event(1, 1))
    await asyncio.sleep(0)
    assert pushed == [1]  # leading edge: no waiting for the interval
    for n in range(2, 51):
        coalescer.offer(1, _event(n, n))
    assert pushed == [1]
    await asyncio.sleep(0.2)
    assert pushed == [1, 50]  # 49 changes folded into one, the newest
    coalescer.close()


async def test_a_subscriber_ignores_an_older_reading_that_arrives_late():
    pushed = []

    async def push(event):
        pushed.append(event["connected"])

    coalescer = LatestWins(push, spacing=0.05)
    coalescer.offer(1, _event(5, 5))
    coalescer.offer(1, _event(7, 7))
    coalescer.offer(1, _event(6, 6))
    await asyncio.sleep(0.2)
    assert pushed == [5, 7]
    coalescer.close()


async def test_a_subscriber_skips_a_reading_equal_to_the_last_one_sent():
    pushed = []

    async def push(event):
        pushed.append((event["version"], event["connected"]))

    coalescer = LatestWins(push, spacing=0.05)
    coalescer.offer(1, _event(1, 3))
    coalescer.offer(1, _event(2, 4))
    coalescer.offer(1, _event(3, 3))  # back to what the subscriber already shows
    await asyncio.sleep(0.2)
    assert pushed == [(1, 3)]
    coalescer.offer(1, _event(4, 5))
    await asyncio.sleep(0.2)
    assert pushed == [(1, 3), (4, 5)]
    coalescer.close()


async def test_a_late_reading_does_not_hold_back_the_ones_after_it():
    now = [0.0]
    pushed = []

    async def push(event):
        pushed.append(event["connected"])

    coalescer = LatestWins(push, clock=lambda: now[0])
    # A process sends a reading every 100 ms; the second crosses the layer
    # 15 ms late, the third on time, 85 ms after it.
    for at, n in ((0.0, 1), (0.115, 2), (0.20, 3)):
        now[0] = at
        coalescer.offer(1, _event(n, n))
        await asyncio.sleep(0)
    assert pushed == [1, 2, 3]  # none waited for "100 ms after the previous push"
    coalescer.close()


async def test_a_subscriber_fed_by_several_processes_keeps_to_the_limit_in_any_window():
    loop = asyncio.get_running_loop()
    pushed_at, pushed = [], []

    def push(event):
        # Called as the push is decided, so the times are the coalescer's own.
        pushed_at.append(loop.time())
        pushed.append(event["connected"])
        return asyncio.sleep(0)

    coalescer = LatestWins(push, per_second=5, window=0.25, spacing=0.01)
    # Two processes, each sending a reading every 10 ms: 200 a second together.
    version = 0
    for _ in range(60):
        for _process in range(2):
            version += 1
            coalescer.offer(1, _event(version, version))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    assert pushed[-1] == version  # the newest reading is delivered in the end
    assert 5 < len(pushed) < 60
    for first, sixth in zip(pushed_at, pushed_at[5:], strict=False):
        assert sixth - first >= 0.25 - 1e-6  # never 6 pushes within one window
    coalescer.close()


def test_a_process_folds_a_burst_into_a_leading_and_a_trailing_send(monkeypatch):
    sent, reads = [], []
    done = threading.Event()

    def read_counts(session_id=9):
        reads.append(session_id)
        return {"type": "session.counts", "session": session_id, "read": len(reads)}

    def fake_send(groups, message, **_callbacks):
        sent.append((tuple(groups), message["read"]))
        if len(sent) == 2:
            done.set()

    monkeypatch.setattr(broadcast, "_send_now", fake_send)
    publisher = broadcast.CountsPublisher(interval=0.05, clock=lambda: 100.0)
    for _ in range(1000):
        publisher.changed(session_id=9, groups=["course-3", "courses-all"], read=read_counts)
    assert done.wait(timeout=5)
    # One read for the first change, one for everything after it.
    assert reads == [9, 9]
    assert sent == [(("course-3", "courses-all"), 1), (("course-3", "courses-all"), 2)]


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_joins_ends_on_the_exact_count(
    ws_app, api_key, session, make_students, course
):
    students = await database_sync_to_async(make_students)(25, course=course, prefix="B")
    devices = [
        (await database_sync_to_async(register_device)(student=s, name="p"))[0] for s in students
    ]
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": api_key})
    await communicator.receive_json_from(timeout=5)

    def join_all():
        for device in devices:
            presence.join_by_code(device=device, code=session.join_code)

    await database_sync_to_async(join_all)()
    seen = []
    while not seen or seen[-1]["connected"] != 25:
        seen.append(await communicator.receive_json_from(timeout=2))
    assert seen[-1] == {
        "type": "session.counts",
        "course": course.pk,
        "session": session.pk,
        "connected": 25,
        "checked_in": 25,
        "enrolled": 30,
    }
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
