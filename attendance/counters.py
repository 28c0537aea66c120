"""Counters kept in the cache, shared by every process when the cache is Redis.

With Redis, the cache backend (config/redis_cache.py) shares one client per
process, so counting from many sockets and threads uses one connection pool.
"""

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger("rollcall.realtime")

# What a cache call raises while Redis is unreachable (a restart, say).
CACHE_DOWN = (RedisError, OSError)


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
    """The counter's value; 0 if none is open, or if the cache cannot be reached.

    A counter guards against abuse (wrong join codes): while Redis restarts,
    students keep checking in rather than all being refused.
    """
    try:
        return cache.get(key) or 0
    except CACHE_DOWN as exc:
        logger.warning("Cache unreachable, counter %s read as 0: %r", key.split(":")[0], exc)
        return 0


def try_count_up(key: str, *, timeout: int) -> int | None:
    """count_up, or None if the cache cannot be reached."""
    try:
        return count_up(key, timeout=timeout)
    except CACHE_DOWN as exc:
        logger.warning("Cache unreachable, counter %s not counted: %r", key.split(":")[0], exc)
        return None


def try_count_up_many(keys: list[str], *, timeout: int) -> list[int | None]:
    """try_count_up for each key: in one round trip with the shared Redis cache
    (config/redis_cache.py), else one by one; all None if the cache cannot be reached."""
    many = getattr(cache, "count_up_many", None)
    if many is None:
        return [try_count_up(key, timeout=timeout) for key in keys]
    try:
        return many(keys, timeout=timeout)
    except CACHE_DOWN as exc:
        logger.warning("Cache unreachable, %d counters not counted: %r", len(keys), exc)
        return [None] * len(keys)


def read_counts(keys: list[str]) -> dict[str, int]:
    """Several counters in one round trip; those not open (or all, without the cache) are 0."""
    try:
        found = cache.get_many(keys)
    except CACHE_DOWN as exc:
        logger.warning("Cache unreachable, %d counters read as 0: %r", len(keys), exc)
        found = {}
    return {key: found.get(key) or 0 for key in keys}
