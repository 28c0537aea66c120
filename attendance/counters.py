"""Counters kept in the cache, shared by every process when the cache is Redis.

With Redis, the cache backend (config/redis_cache.py) shares one client per
process, so counting from many sockets and threads uses one connection pool.
"""

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


def read_count(key: str) -> int:
    """The counter's value; 0 if none is open."""
    return cache.get(key) or 0
