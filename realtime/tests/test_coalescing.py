"""Count updates: latest wins, leading edge at once, trailing value always delivered."""

import asyncio
import functools
import threading
import time

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


def _fake_send(monkeypatch, *, inline: bool = False) -> list:
    """Sends recorded, not made; the first reading inline (SQLite's way) or on the worker."""
    monkeypatch.setattr(broadcast, "_reads_where_written", lambda: inline)
    sent = []

    def fake_send(groups, message, **_callbacks):
        sent.append((tuple(groups), message))

    monkeypatch.setattr(broadcast, "_send_now", fake_send)
    return sent


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("inline", [False, True], ids=["postgresql", "sqlite"])
def test_a_process_folds_a_burst_into_a_leading_and_a_trailing_send(monkeypatch, inline):
    sent, reads = _fake_send(monkeypatch, inline=inline), []

    def read_counts(session_id=9):
        reads.append(threading.current_thread().name)
        return {"type": "session.counts", "session": session_id, "read": len(reads)}

    publisher = broadcast.CountsPublisher(interval=0.05, clock=lambda: 100.0)
    groups = ["course-3", "courses-all"]
    try:
        publisher.changed(session_id=9, groups=groups, read=read_counts)
        _wait_for(lambda: len(sent) == 1)  # the first change: sent at once
        for _ in range(1000):
            publisher.changed(session_id=9, groups=groups, read=read_counts)
        _wait_for(lambda: len(sent) == 2)
        time.sleep(0.15)  # nothing more comes
    finally:
        publisher.close()
    # One read for the first change, one for everything after it; the first on the
    # thread that reported the change only where that thread must do it (SQLite).
    first = threading.current_thread().name if inline else "counts-publisher"
    assert reads == [first, "counts-publisher"]
    assert [(g, m["read"]) for g, m in sent] == [(tuple(groups), 1), (tuple(groups), 2)]


def _read_together(monkeypatch, read_many, sessions: list[int], *, sends: int) -> list:
    """Changes of `sessions` made while the publisher's thread is busy reading session
    0, so they fall due together; what was sent (session 0's push too), once `sends`
    pushes went out and nothing more came."""
    sent = _fake_send(monkeypatch)

    @broadcast.reads_many(read_many)
    def read_one(*, session_id):
        raise AssertionError("read one at a time")

    started, release = threading.Event(), threading.Event()

    def read_first():
        started.set()
        release.wait(5)
        return {"session": 0}

    publisher = broadcast.CountsPublisher(interval=0.05)
    try:
        publisher.changed(session_id=0, groups=["g0"], read=read_first)
        assert started.wait(5)
        for session_id in sessions:
            publisher.changed(
                session_id=session_id,
                groups=[f"g{session_id}"],
                read=functools.partial(read_one, session_id=session_id),
            )
        release.set()
        _wait_for(lambda: len(sent) == sends)
        time.sleep(0.1)  # nothing more comes
    finally:
        publisher.close()
    return sent


def test_sessions_due_together_are_read_in_one_call(monkeypatch):
    calls = []

    def read_many(readings):
        calls.append([r["session_id"] for r in readings])
        return [{"session": r["session_id"]} for r in readings]

    sent = _read_together(monkeypatch, read_many, [2, 3, 4], sends=4)
    assert calls == [[2, 3, 4]]
    assert sorted((g, m["session"]) for g, m in sent) == [
        (("g0",), 0),
        (("g2",), 2),
        (("g3",), 3),
        (("g4",), 4),
    ]


def test_a_reading_that_fails_for_one_session_does_not_stop_the_others(monkeypatch):
    def read_many(readings):
        return [
            ValueError("gone") if r["session_id"] == 2 else {"session": r["session_id"]}
            for r in readings
        ]

    sent = _read_together(monkeypatch, read_many, [1, 2, 3], sends=3)
    assert sorted(m["session"] for _g, m in sent) == [0, 1, 3]


def test_the_batched_readers_read_what_one_at_a_time_would(
    transactional_db, course, students, lecturer
):
    from attendance.roster import roster_event, roster_events
    from attendance.sessions import start_session
    from attendance.tests.builders import join

    session, _ = start_session(course=course, by=lecturer)
    join(session, students[0], session.started_at)
    one = presence.counts_event(session_id=session.pk, course_id=course.pk)
    [many] = presence.counts_events([{"session_id": session.pk, "course_id": course.pk}])
    assert many["version"] > one["version"]
    assert {**many, "version": 0} == {**one, "version": 0}
    assert one["checked_in"] == 1 and one["enrolled"] == len(students)

    roster = roster_event(session_id=session.pk)
    [again, missing] = roster_events([{"session_id": session.pk}, {"session_id": 10**9}])
    assert {**again, "version": 0} == {**roster, "version": 0}
    assert isinstance(missing, type(session).DoesNotExist)


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


def test_flush_waits_for_the_trailing_send(monkeypatch):
    sent = _fake_send(monkeypatch)
    publisher = broadcast.CountsPublisher(interval=0.2)
    try:
        publisher.changed(session_id=5, groups=["g"], read=lambda: {"read": 1})
        _wait_for(lambda: len(sent) == 1)
        publisher.changed(session_id=5, groups=["g"], read=lambda: {"read": 2})
        assert publisher.flush(timeout=5)
        assert [m["read"] for _g, m in sent] == [1, 2]  # the trailing one too, 0.2 s on
    finally:
        publisher.close()


def test_flush_gives_up_after_its_timeout(monkeypatch):
    _fake_send(monkeypatch)
    release = threading.Event()
    publisher = broadcast.CountsPublisher()
    try:
        publisher.changed(session_id=5, groups=["g"], read=lambda: release.wait(5) and {})
        assert not publisher.flush(timeout=0.1)
    finally:
        release.set()
        publisher.close()
