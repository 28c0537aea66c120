"""Web sessions in the database, read through Redis, and still served while Redis is away.

Django's cached_db engine guards some of its cache calls (a read that fails
reads the database instead) but not all: the write-back after a database
read, the existence check for a new key and the delete let a Redis error
through, so while Redis was down every signed-in page was a 500. Here every
cache call that fails is as if the cache had missed: the database holds
every session anyway (SESSION_ENGINE when REDIS_URL is set).

A session deleted while Redis is away (a sign-out, "sign out everywhere") is
still in Redis when it comes back, if that Redis kept its data: served from
the cache, it would be signed in again. So a cache delete that fails is
recorded in the database (StaleCachedSession), and those entries are deleted
from the cache again before this process reads the cache after a failure,
and by the sweeper on each tick (for processes that saw no failure), then
forgotten.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import StaleCachedSession

logger = logging.getLogger("django.contrib.sessions")

CACHE_DOWN = (RedisError, OSError)
EVICT_BATCH = 500
WARN_EVERY_SECONDS = 10.0
# After a failure the cache is left alone this long: a Redis that hangs costs a
# request its timeout once in a while, not on every call of every request.
SKIP_SECONDS = 5.0
_last_warning = 0.0
_skip_until = 0.0
# A cache call failed in this process: deleted sessions may be in the cache
# still, so the recorded ones go from it before the cache is read again.
_evict_first = False


def _skipping() -> bool:
    return time.monotonic() < _skip_until


def _warn(action: str, exc: Exception) -> None:
    global _last_warning, _skip_until, _evict_first
    now = time.monotonic()
    _skip_until = now + SKIP_SECONDS
    _evict_first = True
    # Once in a while, not once per request, while Redis is away.
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("Web sessions read the database alone: cache %s failed: %r", action, exc)


class ForgivingCache:
    """The calls cached_db makes on its cache, each failing as a miss."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key, default=None):
        if _skipping() or not self._evicted_stale():
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
            StaleCachedSession.objects.bulk_create(
                [StaleCachedSession(cache_key=key, deleted_at=timezone.now())],
                ignore_conflicts=True,
            )
            return False

    def __contains__(self, key) -> bool:
        if _skipping() or not self._evicted_stale():
            return False
        try:
            return key in self._cache
        except CACHE_DOWN as exc:
            _warn("read", exc)
            return False

    def __str__(self) -> str:
        return str(self._cache)

    def _evicted_stale(self) -> bool:
        """After a failure: whether the sessions deleted meanwhile are gone from the cache."""
        global _evict_first
        if not _evict_first:
            return True
        try:
            evict_stale(self._cache)
        except CACHE_DOWN as exc:
            _warn("delete", exc)
            return False
        except DatabaseError:
            return False  # not known: the database is read instead (and fails, if it is away)
        _evict_first = False
        return True


def evict_stale(cache=None) -> int:
    """Delete from the cache the sessions whose deletion failed there; forget them.

    Raises the cache's error if it is still away (the rows stay)."""
    cache = cache if cache is not None else caches[settings.SESSION_CACHE_ALIAS]
    evicted = 0
    while keys := list(
        StaleCachedSession.objects.order_by("pk").values_list("cache_key", flat=True)[:EVICT_BATCH]
    ):
        cache.delete_many(keys)
        StaleCachedSession.objects.filter(cache_key__in=keys).delete()
        evicted += len(keys)
    return evicted


def sweep_job(*, now) -> dict[str, int]:
    """The sweeper's part: evict what a process recorded (unless the cache is still away),
    and forget entries older than any session's life (their cache entry has expired)."""
    longest = max(
        settings.SESSION_COOKIE_AGE,
        int(timedelta(days=settings.SESSION_REMEMBER_DAYS).total_seconds()),
    )
    StaleCachedSession.objects.filter(deleted_at__lt=now - timedelta(seconds=longest)).delete()
    try:
        evicted = evict_stale()
    except CACHE_DOWN as exc:
        _warn("delete", exc)
        return {}
    return {"stale_cached_sessions_evicted": evicted} if evicted else {}


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = ForgivingCache(self._cache)
