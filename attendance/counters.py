"""Counters kept in the cache, shared by every process when the cache is Redis."""

from django.core.cache import cache


def count_up(key: str, *, timeout: int) -> int:
    """Add one to `key`'s counter and return it; a new counter lives `timeout` seconds.

    add() opens the counter only if none is open, so its lifetime runs from the
    first count, and incr() is atomic across processes.
    """
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired or evicted between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1
