"""Counters in the cache: one client for the whole process, whatever the thread or socket."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from attendance.counters import count_up, read_count, shared_cache


def test_threads_and_sockets_share_one_cache_client():
    seen = [shared_cache()]
    thread = threading.Thread(target=lambda: seen.append(shared_cache()))
    thread.start()
    thread.join()

    async def two_sockets():
        # Each socket runs in its own async context, where django.core.cache
        # would hand out a client (and a Redis connection) of its own.
        return await asyncio.gather(*(sync_to_async(shared_cache)() for _ in range(2)))

    seen.extend(asyncio.run(two_sockets()))
    assert all(client is seen[0] for client in seen)


def test_changing_the_cache_settings_builds_a_new_client(settings):
    before = shared_cache()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "x"}
    }
    assert shared_cache() is not before


@pytest.mark.redis
def test_counts_from_many_sockets_use_one_redis_connection(settings):
    import redis

    from conftest import test_redis_url

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": test_redis_url(),
            "KEY_PREFIX": "rollcall-test-counters",
        }
    }
    admin = redis.Redis.from_url(test_redis_url())
    before = {c["id"] for c in admin.client_list()}

    async def sockets():
        await asyncio.gather(
            *(sync_to_async(count_up)("shared-client", timeout=60) for _ in range(20))
        )
        return [c for c in admin.client_list() if c["id"] not in before]

    opened = asyncio.run(sockets())
    assert read_count("shared-client") == 20
    assert len(opened) <= 1, opened
    shared_cache().delete("shared-client")
