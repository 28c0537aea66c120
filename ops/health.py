"""Readiness: can this process serve? Each check names what it found wrong.

A process is ready when its database answers, every migration the code knows
is applied, Redis answers a ping and a message makes a round trip through the
channel layer. Each check is bounded by a short timeout, so a probe answers in
a few seconds even when a service hangs, and nothing is cached: the first
probe after a service comes back is ready again.
"""

import asyncio
import logging
import threading
from collections.abc import Callable

import redis
from channels.layers import channel_layers
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("rollcall.ops")

TIMEOUT_SECONDS = 2.0
# A whole check, whatever it waits on (the channel layer's round trip takes up to 2x).
CHECK_SECONDS = 3 * TIMEOUT_SECONDS


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_migrations() -> None:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        raise RuntimeError(f"{len(plan)} unapplied: {names}{more}")


def redis_client() -> redis.Redis:
    """A client for the Redis the process uses (the sentinels' master, if configured)."""
    timeouts = {"socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS}
    if settings.REDIS_SENTINELS:
        from redis.sentinel import Sentinel

        options = redis.connection.parse_url(settings.REDIS_URL)
        sentinel = Sentinel(settings.REDIS_SENTINELS, sentinel_kwargs=timeouts)
        return sentinel.master_for(
            settings.REDIS_SENTINEL_MASTER,
            db=options.get("db", 0),
            password=options.get("password"),
            **timeouts,
        )
    return redis.Redis.from_url(settings.REDIS_URL, **timeouts)


def check_redis() -> None:
    client = redis_client()
    try:
        client.ping()
    finally:
        client.close()


async def _layer_round_trip() -> None:
    # A layer of its own on a loop of its own: the probe opens and closes its
    # own connections, and leaves nothing behind in the layer the sockets use
    # (channels has no call that forgets a channel).
    layer = channel_layers.make_backend("default")
    try:
        channel = await layer.new_channel("readyz.")
        await layer.send(channel, {"type": "readyz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), TIMEOUT_SECONDS)
        if message.get("type") != "readyz.ping":
            raise RuntimeError(f"received {message!r} instead of the probe's message")
    finally:
        # The core layer's flush would delete every group in Redis, so it only
        # closes its pools; the others' flush closes this instance's own.
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
        else:
            await layer.flush()


def check_channel_layer() -> None:
    async def bounded() -> None:
        await asyncio.wait_for(_layer_round_trip(), TIMEOUT_SECONDS * 2)

    # Readiness runs in a view's worker thread, which has no loop of its own.
    asyncio.run(bounded())


def checks() -> dict[str, Callable[[], None]]:
    found = {"database": check_database, "migrations": check_migrations}
    if settings.REDIS_URL:
        found["redis"] = check_redis
    found["channel_layer"] = check_channel_layer
    return found


class Hung(TimeoutError):
    """A check given up on by `bounded`; its message says after how long."""


def bounded(check: Callable[[], None], seconds: float) -> None:
    """Run `check` in a thread of its own and give up on it after `seconds`.

    The checks' own timeouts cover a service that refuses or answers slowly, not
    one that hangs (a paused PostgreSQL holds a query with no client-side limit;
    a channel layer's clean-up after its timeout waits on a paused Redis): the
    probe would hang with it, for minutes. A check left behind holds only its
    thread, which closes its connections when it ends.
    """
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            check()
        except BaseException as exc:  # handed to the probe's thread below
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="readyz-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise Hung(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Hung):
        return str(exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_last_failed: frozenset[str] = frozenset()


def readiness() -> dict[str, str]:
    """Run every check; return what failed, by check name (empty when ready).

    Only a change is logged (ready to not ready, or the reverse), so a probe
    every few seconds stays out of the logs while nothing changes.
    """
    global _last_failed
    failed: dict[str, str] = {}
    try:
        for name, check in checks().items():
            try:
                bounded(check, CHECK_SECONDS)
            except Exception as exc:
                failed[name] = _describe(exc)
    finally:
        # Back to the pool now: a probe's thread may not see the request end.
        connection = connections[DEFAULT_DB_ALIAS]
        if not connection.in_atomic_block:
            connection.close()
    now_failed = frozenset(failed)
    if now_failed != _last_failed:
        if failed:
            logger.warning("Not ready: %s", "; ".join(f"{k}: {v}" for k, v in failed.items()))
        else:
            logger.info("Ready again")
        _last_failed = now_failed
    return failed
