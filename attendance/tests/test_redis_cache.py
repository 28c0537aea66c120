"""The Redis cache backend shares one client per process: requests and sockets alike."""

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches

from attendance.counters import count_up, read_count


def _redis_cache(settings, location: str, prefix: str = "rollcall-test-cache") -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.SharedRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        }
    }


def test_every_thread_gets_the_same_client_for_one_location(settings):
    _redis_cache(settings, "redis://127.0.0.1:6379/14")
    seen = [caches["default"]._cache]
    thread = threading.Thread(target=lambda: seen.append(caches["default"]._cache))
    thread.start()
    thread.join()
    assert seen[0] is seen[1]
    _redis_cache(settings, "redis://127.0.0.1:6379/15")
    assert caches["default"]._cache is not seen[0]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own: its connection count is the test's alone,
    whatever else (another test worker) uses the shared Redis meanwhile."""
    from realtime.tests.faults import PrivateRedis

    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _connections_opened(url: str, work) -> int:
    import redis

    admin = redis.Redis.from_url(url)
    before = admin.info("stats")["total_connections_received"]
    work()
    # The admin connection itself was opened before the first reading.
    return admin.info("stats")["total_connections_received"] - before


@pytest.mark.redis
def test_counts_from_many_sockets_use_one_connection(settings, own_redis):
    _redis_cache(settings, own_redis)
    key = f"shared-client-{uuid.uuid4().hex}"

    async def sockets():
        # Each socket runs in its own async context, where Django's cache
        # handler gives it a backend of its own.
        await asyncio.gather(*(sync_to_async(count_up)(key, timeout=60) for _ in range(20)))

    assert _connections_opened(own_redis, lambda: asyncio.run(sockets())) <= 1
    assert read_count(key) == 20
    caches["default"].delete(key)


@pytest.mark.servers
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_page_views_on_a_server_share_one_connection(settings, lecturer, tmp_path, own_redis):
    from urllib.request import Request, urlopen

    from django.test import Client

    from realtime.tests.servers import daphne

    _redis_cache(settings, own_redis, prefix="rollcall")
    settings.SESSION_ENGINE = "accounts.session_store"
    client = Client()
    client.force_login(lecturer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    with daphne(workdir=tmp_path, extra_env={"REDIS_URL": own_redis}) as port:

        def twenty_page_views():
            for _ in range(20):
                # Each request is its own async context in the server, and the
                # session engine reads the session from the cache.
                request = Request(f"http://127.0.0.1:{port}/sessions/", headers={"Cookie": cookie})
                with urlopen(request, timeout=10) as response:
                    assert response.status == 200
                    assert "lecturer" in response.read().decode()

        twenty_page_views()  # the server's first requests open its pool
        assert _connections_opened(own_redis, twenty_page_views) <= 1


@pytest.mark.redis
def test_many_counters_count_up_together_as_one_by_one_would(settings, own_redis):
    import redis

    from attendance.counters import try_count_up_many

    _redis_cache(settings, own_redis)
    old, new = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    assert count_up(old, timeout=60) == 1
    assert try_count_up_many([old, new], timeout=30) == [2, 1]
    assert try_count_up_many([new], timeout=30) == [2]
    assert (read_count(old), read_count(new)) == (2, 2)
    # A new counter lives `timeout` seconds, from its first count.
    admin = redis.Redis.from_url(own_redis)
    assert 0 < admin.ttl(caches["default"].make_and_validate_key(new)) <= 30


@pytest.mark.redis
def test_many_counters_without_redis_are_not_counted(settings, tmp_path):
    from attendance.counters import try_count_up_many
    from realtime.tests.faults import PrivateRedis

    stopped = PrivateRedis(tmp_path / "stopped")  # never started: nothing listens there
    _redis_cache(settings, stopped.url)
    assert try_count_up_many(["a", "b"], timeout=30) == [None, None]


def test_many_counters_in_another_cache_count_one_by_one(settings):
    from attendance.counters import try_count_up_many

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    key = f"local-{uuid.uuid4().hex}"
    assert try_count_up_many([key, key], timeout=30) == [1, 2]
