"""A Redis that stops answering without closing its connections (paused, or a network
that drops packets): the channel layer notices within seconds, tells its sockets, fails
publishes at once meanwhile, and listens again when Redis answers."""

import asyncio
import time
import uuid

import pytest

from config.settings import redis_channel_layer
from realtime import layer as layers

pytestmark = pytest.mark.redis

# Silence before the probe, the probe's wait, and a listen's poll: the most it may take.
NOTICED_WITHIN = (
    layers.PROBE_AFTER_SECONDS + layers.PROBE_TIMEOUT_SECONDS + 2 * layers.LISTEN_SECONDS
)


async def test_a_hung_redis_is_noticed_and_the_layer_listens_again_once_it_answers(
    private_redis,
):
    config = redis_channel_layer(private_redis.url, prefix=f"hang-{uuid.uuid4().hex[:8]}")
    layer = layers.ResilientPubSubChannelLayer(**config["CONFIG"])
    try:
        channel = await layer.new_channel()
        await layer.group_add("course-1", channel)
        await layer.group_send("course-1", {"type": "session.counts", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1

        private_redis.pause()
        paused_at = time.monotonic()
        down = await asyncio.wait_for(layer.receive(channel), NOTICED_WITHIN + 5)
        noticed = time.monotonic() - paused_at
        print(f"a hung Redis noticed after {noticed:.1f} s")
        assert down == {"type": "layer.down"}
        assert noticed <= NOTICED_WITHIN
        # Known to be down: a publish fails at once rather than waiting out its timeout.
        started = time.monotonic()
        with pytest.raises(layers.LayerDown):
            await layer.group_send("course-1", {"type": "session.counts", "n": 2})
        assert time.monotonic() - started < 1

        private_redis.resume()
        up = await asyncio.wait_for(layer.receive(channel), layers.RECOVER_TIMEOUT_SECONDS + 5)
        assert up == {"type": "layer.up"}
        await layer.group_send("course-1", {"type": "session.counts", "n": 3})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 3
    finally:
        private_redis.resume()
        await layer.flush()


async def test_a_quiet_but_healthy_redis_is_not_taken_for_a_hung_one(private_redis):
    config = redis_channel_layer(private_redis.url, prefix=f"quiet-{uuid.uuid4().hex[:8]}")
    layer = layers.ResilientPubSubChannelLayer(**config["CONFIG"])
    try:
        channel = await layer.new_channel()
        await layer.group_add("course-1", channel)
        # Nothing published for longer than a hang takes to notice: the probes are
        # answered, and no layer.down reaches the socket. (Not a receive that times out:
        # cancelling one makes the layer forget the channel.)
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(NOTICED_WITHIN + 2)
        assert not receiving.done()
        await layer.group_send("course-1", {"type": "session.counts", "n": 1})
        assert (await asyncio.wait_for(receiving, 5))["n"] == 1
    finally:
        await layer.flush()
