"""Django's Redis cache with one client per process, not one per request.

Django's cache handler keeps a backend per thread and, under ASGI, per
async context: every request and every socket gets its own. Its RedisCache
builds a connection pool for each backend and closes none of them (it has
no close()). So every page view opened a new connection to Redis (the
session engine reads the cache), and every device socket another. The
client is thread-safe, so this backend shares one per location and options.

With Redis Sentinel (settings.REDIS_SENTINELS) the client asks the sentinels
for the master, and again after a failover.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.connection import parse_url
from redis.sentinel import Sentinel, SentinelConnectionPool

_lock = threading.Lock()
_clients: dict[tuple, RedisCacheClient] = {}


class SentinelRedisCacheClient(RedisCacheClient):
    """Django's Redis client on the master the sentinels name (LOCATION gives db and password)."""

    def __init__(self, servers, *, sentinels, master_name, sentinel_kwargs=None, **options):
        super().__init__(servers, **options)
        self._sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
        self._master_name = master_name

    def _get_connection_pool(self, write):
        # One pool on the master for reads and writes: a replica may lag behind.
        if 0 not in self._pools:
            url = parse_url(self._servers[0])
            self._pools[0] = SentinelConnectionPool(
                self._master_name,
                self._sentinel,
                db=url.get("db", 0),
                password=url.get("password"),
                **self._pool_options,
            )
        return self._pools[0]


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        if "sentinels" in self._options:
            self._class = SentinelRedisCacheClient

    def count_up_many(self, keys: list[str], *, timeout: int) -> list[int]:
        """Add one to each key's counter (a new one lives `timeout` seconds) in one round
        trip; the counts, in order. As add() then incr() per key, pipelined."""
        client = self._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            name = self.make_and_validate_key(key)
            pipe.set(name, 0, ex=timeout, nx=True)
            pipe.incr(name)
        return [int(n) for n in pipe.execute()[1::2]]

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
