"""Web sessions in the database, read through Redis, and still served while Redis is away.

Django's cached_db engine guards some of its cache calls (a read that fails
reads the database instead) but not all: the write-back after a database
read, the existence check for a new key and the delete let a Redis error
through, so while Redis was down every signed-in page was a 500. Here every
cache call that fails is as if the cache had missed: the database holds
every session anyway (SESSION_ENGINE when REDIS_URL is set).

One risk stays: a session deleted while Redis is away (a sign-out, "sign out
everywhere") may still be in Redis when it comes back, if that Redis kept its
data, until its cache entry expires (at most SESSION_COOKIE_AGE). A signed-out
session's entry is deleted again on the next sign-out or expiry.
"""

import logging
import time

from django.contrib.sessions.backends import cached_db
from redis.exceptions import RedisError

logger = logging.getLogger("django.contrib.sessions")

CACHE_DOWN = (RedisError, OSError)
WARN_EVERY_SECONDS = 10.0
_last_warning = 0.0


def _warn(action: str, exc: Exception) -> None:
    # Once in a while, not once per request, while Redis is away.
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("Web sessions read the database alone: cache %s failed: %r", action, exc)


class ForgivingCache:
    """The calls cached_db makes on its cache, each failing as a miss."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except CACHE_DOWN as exc:
            _warn("read", exc)
            return default

    def set(self, key, value, timeout=None):
        try:
            self._cache.set(key, value, timeout)
        except CACHE_DOWN as exc:
            _warn("write", exc)

    def delete(self, key):
        try:
            return self._cache.delete(key)
        except CACHE_DOWN as exc:
            _warn("delete", exc)
            return False

    def __contains__(self, key) -> bool:
        try:
            return key in self._cache
        except CACHE_DOWN as exc:
            _warn("read", exc)
            return False

    def __str__(self) -> str:
        return str(self._cache)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = ForgivingCache(self._cache)
