"""Django's Redis cache with one client per process, not one per request.

Django's cache handler keeps a backend per thread and, under ASGI, per
async context: every request and every socket gets its own. Its RedisCache
builds a connection pool for each backend and closes none of them (it has
no close()). So every page view opened a new connection to Redis (the
session engine reads the cache), and every device socket another. The
client is thread-safe, so this backend shares one per location and options.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_lock = threading.Lock()
_clients: dict[tuple, RedisCacheClient] = {}


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
