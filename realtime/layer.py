"""The Redis pub/sub channel layer, made to survive a Redis restart.

channels-redis' RedisPubSubChannelLayer (4.3) keeps one subscriber connection
per process. When Redis restarts, its receive loop logs the error and keeps
polling a connection that never subscribes again: every socket of the process
stays open and silent for good. Here the loop notices the loss, retries every
RETRY_SECONDS, and on recovery subscribes every channel and group the process
still holds in a few commands.

Pub/sub is at-most-once, so what was published while a process could not
listen is gone. The layer therefore tells its own sockets: a message of type
"layer.down" when it loses Redis and "layer.up" once it listens again, put
straight into every local channel's queue (no Redis involved). The sockets
turn them into "reconnecting" on the lecturer's screen and a fresh snapshot
from the database (realtime/lecturer.py, realtime/device.py).

A Redis that stops answering without closing the connection (paused, or
behind a network that drops packets) raises nothing: the subscriber's reads
just time out empty, and publishes wait for their socket timeout. So when the
subscriber has heard nothing for PROBE_AFTER_SECONDS it pings Redis, and a
ping unanswered within PROBE_TIMEOUT_SECONDS counts as the connection lost;
a recovery that hangs is given up after RECOVER_TIMEOUT_SECONDS and tried
again.

While Redis is down, subscribing only records the name (it is subscribed on
recovery), so sockets can still connect and devices still join; publishing
fails at once, and realtime/broadcast.py retries it. At all times, the
subscriptions asked for in one moment go to Redis as one command, and nobody
waits for an unsubscribe.
"""

import asyncio
import contextlib
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from realtime import metrics

logger = logging.getLogger("rollcall.realtime")

RETRY_SECONDS = 0.5
# How long the subscriber waits for a message before it looks again. A message
# ends the wait at once, so this only sets how often an idle process wakes up.
LISTEN_SECONDS = 1.0
# Channels re-subscribed per SUBSCRIBE command on recovery.
RESUBSCRIBE_BATCH = 1000
PUBLISHERS = 8
# A subscriber that has heard nothing this long asks Redis whether it is there.
PROBE_AFTER_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 3.0
RECOVER_TIMEOUT_SECONDS = 5.0

LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, TimeoutError)


class LayerDown(RedisConnectionError):
    """Raised by a publish while the process knows Redis is unreachable."""


class ResilientShard(RedisSingleShardConnection):
    """One Redis host: a subscriber that comes back, and publishes that fail fast."""

    def __init__(self, host: dict, channel_layer: "ResilientLoopLayer") -> None:
        # One quick retry (a pooled connection that Redis closed when it
        # restarted), then the error: broadcast.py decides when to try again.
        host = {**host, "retry": Retry(NoBackoff(), 1)}
        super().__init__(host, channel_layer)
        self.down = False
        self._subscribing: set[str] = set()
        self._unsubscribing: set[str] = set()
        self._synced: asyncio.Future | None = None
        self._sync_task: asyncio.Task | None = None
        self._publishers = asyncio.Semaphore(PUBLISHERS)
        self._heard_at = 0.0

    async def publish(self, channel, message):
        # Not behind the subscriptions' lock: a publish must not wait behind a
        # subscribe. At most PUBLISHERS at once: a reconnect storm publishes a
        # thousand hellos in a second, and each one in flight holds a pooled
        # connection, which Redis and the pool pay for dearly.
        if self.down:
            raise LayerDown("Redis is unreachable; the channel layer is reconnecting")
        self._ensure_redis()
        async with self._publishers:
            await self._redis.publish(channel, message)

    async def subscribe(self, channel):
        if channel in self._subscribed_to:
            return
        self._subscribed_to.add(channel)
        self._ensure_redis()
        self._ensure_receiver()
        if self.down:
            return  # subscribed with the others on recovery
        self._unsubscribing.discard(channel)
        self._subscribing.add(channel)
        # Shielded: a consumer cancelled while it waits must not cancel the
        # command the others wait for too.
        await asyncio.shield(self._sync_soon())

    async def unsubscribe(self, channel):
        # Nobody waits for an unsubscribe: a consumer that is closing (or being
        # cancelled) leaves at once, and the command goes out with others.
        if channel not in self._subscribed_to:
            return
        self._subscribed_to.discard(channel)
        if self.down or self._pubsub is None:
            return
        self._subscribing.discard(channel)
        self._unsubscribing.add(channel)
        self._sync_soon()

    def _sync_soon(self) -> asyncio.Future:
        """One SUBSCRIBE and one UNSUBSCRIBE for every name asked for meanwhile.

        A thousand devices connecting at once cost a few commands, not two
        thousand, each waiting its turn for the connection.
        """
        if self._synced is None:
            loop = asyncio.get_running_loop()
            self._synced = loop.create_future()
            self._sync_task = loop.create_task(self._sync())
        return self._synced

    async def _sync(self) -> None:
        await asyncio.sleep(0)  # let the callers of this loop iteration join in
        async with self._lock:
            done, self._synced = self._synced, None
            subscribe, self._subscribing = sorted(self._subscribing), set()
            unsubscribe, self._unsubscribing = sorted(self._unsubscribing), set()
            try:
                if not self.down and self._pubsub is not None:
                    for start in range(0, len(subscribe), RESUBSCRIBE_BATCH):
                        await self._pubsub.subscribe(*subscribe[start : start + RESUBSCRIBE_BATCH])
                    for start in range(0, len(unsubscribe), RESUBSCRIBE_BATCH):
                        names = unsubscribe[start : start + RESUBSCRIBE_BATCH]
                        await self._pubsub.unsubscribe(*names)
            except LOST as exc:
                self._went_down(exc)  # the names are subscribed again on recovery
            except Exception as exc:
                done.set_exception(exc)
                return
            done.set_result(None)

    async def _do_receiving(self):
        while True:
            try:
                if self.down:
                    await asyncio.wait_for(self._recover(), RECOVER_TIMEOUT_SECONDS)
                elif self._pubsub is not None and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=LISTEN_SECONDS
                    )
                    await self._heard(message)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except LOST as exc:
                self._went_down(exc)
                await asyncio.sleep(RETRY_SECONDS)
            except Exception:
                logger.exception("Unexpected error in the channel layer's receive loop")
                await asyncio.sleep(RETRY_SECONDS)

    async def _heard(self, message) -> None:
        """Note that Redis spoke; after a silence, make sure it still would (raises if not)."""
        now = asyncio.get_running_loop().time()
        if message is None:
            if now - self._heard_at < PROBE_AFTER_SECONDS:
                return
            try:
                await asyncio.wait_for(self._redis.ping(), PROBE_TIMEOUT_SECONDS)
            except TimeoutError:
                raise RedisTimeoutError(
                    f"Redis did not answer a ping within {PROBE_TIMEOUT_SECONDS:g} s"
                ) from None
        self._heard_at = now

    def _went_down(self, exc: BaseException) -> None:
        if self.down:
            return
        self.down = True
        metrics.LAYER_OUTAGES.inc()
        logger.warning("Channel layer lost Redis (%s); reconnecting", exc)
        self._tell_local_channels("layer.down")

    async def _recover(self) -> None:
        """Connect afresh and subscribe everything this process holds; raises while down."""
        async with self._lock:
            old, self._pubsub = self._pubsub, None
            if old is not None:
                # A dead connection has nothing left to close.
                with contextlib.suppress(Exception):
                    await old.aclose()
            self._ensure_redis()
            # Pooled publish connections all died with the server.
            await self._redis.connection_pool.disconnect()
            pubsub = self._redis.pubsub()
            names = sorted(self._subscribed_to)
            self._subscribing.clear()
            self._unsubscribing.clear()
            try:
                if names:
                    for start in range(0, len(names), RESUBSCRIBE_BATCH):
                        await pubsub.subscribe(*names[start : start + RESUBSCRIBE_BATCH])
                else:
                    await self._redis.ping()
            except BaseException:
                await pubsub.aclose()
                raise
            self._pubsub = pubsub
            self.down = False
            self._heard_at = asyncio.get_running_loop().time()
        logger.warning("Channel layer reconnected to Redis; %d channels subscribed", len(names))
        self._tell_local_channels("layer.up")

    def _tell_local_channels(self, kind: str) -> None:
        """Every socket of this process hears it, through its own queue."""
        data = self.channel_layer.channel_layer.serialize({"type": kind})
        for queue in list(self.channel_layer.channels.values()):
            queue.put_nowait(data)


class ResilientLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [ResilientShard(shard.host, self) for shard in self._shards]

    @property
    def down(self) -> bool:
        return any(shard.down for shard in self._shards)


class ResilientPubSubChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer whose per-loop layers reconnect (see the module docstring)."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = ResilientLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


def layer_down(layer) -> bool:
    """Whether `layer` (any channel layer) knows it cannot reach its broker now."""
    return bool(getattr(layer, "down", False))
