"""Counters kept in the cache, shared by every process when the cache is Redis.

They go through one cache client per process (shared_cache). Django's
`cache` is a client per thread and, under asgiref, per async context: each
open socket and each timer thread would build its own Redis connection pool
and open a connection of its own, and Django closes none of them outside a
request. The Redis client is thread-safe, so one serves the whole process.
"""

import threading

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver

_lock = threading.Lock()
_shared: BaseCache | None = None


def shared_cache() -> BaseCache:
    """The process's one client of the default cache."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = caches.create_connection(DEFAULT_CACHE_ALIAS)
    return _shared


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs) -> None:
    # Tests point CACHES elsewhere; the next call builds a client for that.
    global _shared
    if setting == "CACHES":
        with _lock:
            _shared = None


def count_up(key: str, *, timeout: int) -> int:
    """Add one to `key`'s counter and return it; a new counter lives `timeout` seconds.

    add() opens the counter only if none is open, so its lifetime runs from the
    first count, and incr() is atomic across processes.
    """
    cache = shared_cache()
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired or evicted between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def read_count(key: str) -> int:
    """The counter's value; 0 if none is open."""
    return shared_cache().get(key) or 0
