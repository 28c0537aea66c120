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
# After a failure the cache is left alone this long: a Redis that hangs costs a
# request its timeout once in a while, not on every call of every request.
SKIP_SECONDS = 5.0
_last_warning = 0.0
_skip_until = 0.0


def _skipping() -> bool:
    return time.monotonic() < _skip_until


def _warn(action: str, exc: Exception) -> None:
    global _last_warning, _skip_until
    now = time.monotonic()
    _skip_until = now + SKIP_SECONDS
    # Once in a while, not once per request, while Redis is away.
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("Web sessions read the database alone: cache %s failed: %r", action, exc)


class ForgivingCache:
    """The calls cached_db makes on its cache, each failing as a miss."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key, default=None):
        if _skipping():
            return default
        try:
            return self._cache.get(key, default)
        except CACHE_DOWN as exc:
            _warn("read", exc)
            return default

    def set(self, key, value, timeout=None):
        if _skipping():
            return
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
        if _skipping():
            return False
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
