"""The real-time metrics (realtime/metrics.py) move with what the sockets do."""

import asyncio
import gc
import threading
import uuid

import pytest
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from config.settings import redis_channel_layer
from realtime import broadcast
from realtime.tests.faults import PrivateRedis
from realtime.tests.sockets import HOST, next_event, open_device, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels) -> float:
    if name == "rollcall_realtime_open_sockets":
        # The gauge counts live consumers: earlier tests' must be collected first,
        # not in the middle of this one.
        gc.collect()
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_open_sockets_joins_and_pushes_are_counted(
    ws_app, device_and_token, session, api_key
):
    device, token = device_and_token
    sockets_before = value("rollcall_realtime_open_sockets", kind="device")
    watchers_before = value("rollcall_realtime_open_sockets", kind="events")
    joined_before = value("rollcall_realtime_joins_total", outcome="joined")
    wrong_before = value("rollcall_realtime_joins_total", outcome="invalid_code")
    pushes_before = value("rollcall_realtime_pushes_total", event="session.counts")
    latencies_before = value("rollcall_realtime_join_push_seconds_count")

    watcher = await open_socket(ws_app, "/ws/events/", headers=(HOST,))
    await watcher.send_json_to({"type": "auth", "token": api_key})
    await next_event(watcher, "snapshot")
    phone = await open_device(ws_app, device, token)
    assert value("rollcall_realtime_open_sockets", kind="device") == sockets_before + 1
    assert value("rollcall_realtime_open_sockets", kind="events") == watchers_before + 1

    wrong = "000000" if session.join_code != "000000" else "111111"
    await phone.send_json_to({"type": "join", "code": wrong})
    assert (await phone.receive_json_from(timeout=5))["code"] == "invalid_code"
    await phone.send_json_to({"type": "join", "code": session.join_code})
    assert (await phone.receive_json_from(timeout=5))["type"] == "joined"
    await next_event(watcher, "session.counts")

    assert value("rollcall_realtime_joins_total", outcome="joined") == joined_before + 1
    assert value("rollcall_realtime_joins_total", outcome="invalid_code") == wrong_before + 1
    assert value("rollcall_realtime_pushes_total", event="session.counts") == pushes_before + 1
    # Observed once the publish has completed, which may be just after delivery.
    for _ in range(100):
        if value("rollcall_realtime_join_push_seconds_count") > latencies_before:
            break
        await asyncio.sleep(0.02)
    assert value("rollcall_realtime_join_push_seconds_count") == latencies_before + 1

    await phone.disconnect()
    await watcher.disconnect()
    assert value("rollcall_realtime_open_sockets", kind="device") == sockets_before


@pytest.mark.redis
def test_a_failed_publish_is_counted_and_sent_once_redis_is_back(tmp_path, settings):
    """A real Redis, stopped and started: the retry queue delivers what failed."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
        settings.CHANNEL_LAYERS = {"default": redis_channel_layer(redis.url, prefix=prefix)}
        received: list[dict] = []
        listening, done = threading.Event(), threading.Event()

        async def listen() -> None:
            layer = get_channel_layer()
            channel = await layer.new_channel()
            await layer.group_add("course-7", channel)
            listening.set()
            while not received or received[-1]["n"] < 2:
                received.append(await asyncio.wait_for(layer.receive(channel), 20))
            done.set()

        # A listener of its own, on its own loop, that survives the restart.
        listener = threading.Thread(target=asyncio.run, args=(listen(),), daemon=True)
        listener.start()
        assert listening.wait(10)
        failures_before = value("rollcall_realtime_publish_failures_total")

        redis.stop()
        broadcast._send_now(["course-7"], {"type": "session.started", "n": 1})
        assert value("rollcall_realtime_publish_failures_total") == failures_before + 1
        assert broadcast.retries.waiting()
        # Sent while an earlier event waits: it queues behind it, in order.
        broadcast._send_now(["course-7"], {"type": "session.started", "n": 2})
        redis.start()

        assert done.wait(20), received
        assert [m["n"] for m in received] == [1, 2]
        listener.join(5)
    finally:
        broadcast.retries.clear()
        redis.stop()
