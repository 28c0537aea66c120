"""Redis Sentinel in the settings, through a real failover (Debian's redis-sentinel).

A master, its replica and a sentinel of the test's own, on free ports. The
settings module is evaluated with REDIS_SENTINELS as a new process would see
it; the cache (web sessions, counters) and the channel layer it configures
find the master through the sentinel, and find the new one after the old
master dies.
"""

import asyncio
import runpy
import uuid

import pytest
from django.core.cache import caches
from django.utils.module_loading import import_string

from conftest import _missing
from ops import health
from ops.tests.redis_servers import (
    RedisProcess,
    SentinelProcess,
    eventually,
    redis_sentinel_binary,
    redis_server_binary,
    stopped_at_exit,
)

pytestmark = [pytest.mark.servers]
MASTER_NAME = "rollcall-test"


@pytest.fixture
def sentinel_settings(settings, monkeypatch, tmp_path):
    def load(sentinel_port: int) -> dict:
        monkeypatch.setenv("REDIS_URL", "redis://sentinel-managed/0")
        monkeypatch.setenv("REDIS_SENTINELS", f"127.0.0.1:{sentinel_port}")
        monkeypatch.setenv("REDIS_SENTINEL_MASTER", MASTER_NAME)
        monkeypatch.setenv("CHANNEL_LAYER_PREFIX", f"sentinel-{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("LOG_DIR", str(tmp_path))
        loaded = runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))
        for name in (
            "REDIS_URL",
            "REDIS_SENTINELS",
            "REDIS_SENTINEL_MASTER",
            "CACHES",
            "CHANNEL_LAYERS",
        ):
            setattr(settings, name, loaded[name])
        return loaded

    return load


async def round_trip(config: dict) -> dict:
    layer = import_string(config["BACKEND"])(**config["CONFIG"])
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "test.ping", "n": 1})
        return await asyncio.wait_for(layer.receive(channel), 5)
    finally:
        await layer.flush()


def test_the_cache_and_the_channel_layer_follow_a_sentinel_failover(tmp_path, sentinel_settings):
    if redis_server_binary() is None or redis_sentinel_binary() is None:
        _missing("needs redis-server and redis-sentinel (Debian: redis-sentinel)")
    master = RedisProcess(tmp_path).start()
    replica = RedisProcess(tmp_path, args=("--replicaof", "127.0.0.1", str(master.port)))
    with stopped_at_exit(master, replica):
        replica.start()
        sentinel = SentinelProcess(tmp_path, master_name=MASTER_NAME, master_port=master.port)
        with stopped_at_exit(sentinel):
            sentinel.start()
            eventually(lambda: sentinel.knows_replica(replica.port), what="sentinel sees replica")
            loaded = sentinel_settings(sentinel.port)
            assert loaded["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["master_name"] == (
                MASTER_NAME
            )

            cache = caches["default"]
            cache.set("before-failover", "kept", 300)
            assert cache.get("before-failover") == "kept"
            assert master.client().dbsize() >= 1  # it went to the master the sentinel named
            assert asyncio.run(round_trip(loaded["CHANNEL_LAYERS"]["default"]))["n"] == 1
            health.check_redis()

            # Replicated, then the master dies: the sentinel promotes the replica.
            eventually(
                lambda: replica.client().exists("rollcall:1:before-failover"), what="replicated"
            )
            master.kill()
            eventually(lambda: sentinel.master_port() == replica.port, what="the replica promoted")

            # The same cache client, and a new channel layer, on the new master.
            assert eventually(lambda: cache.get("before-failover"), what="read after") == "kept"
            cache.set("after-failover", "written", 300)
            assert replica.client().exists("rollcall:1:after-failover") == 1
            assert asyncio.run(round_trip(loaded["CHANNEL_LAYERS"]["default"]))["n"] == 1
            health.check_redis()
            health.check_channel_layer()
