"""How sockets run their database calls: in parallel on PostgreSQL, one at a time on SQLite.

Channels' database_sync_to_async is thread-sensitive by default: every call of
a server process runs on one thread, so a burst of joins queues behind each
other's queries. On PostgreSQL the calls run instead on a pool of
DB_POOL_MAX_SIZE threads, one pooled connection each; channels still closes
(returns to the pool) the thread's connection after every call.
"""

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections

# The database cannot be reached (restarting, every pooled connection busy past the
# pool's timeout) or gave up on the transaction: worth trying again shortly.
DB_DOWN = (OperationalError, InterfaceError)

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None


def _parallel_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        # As many threads as the pool has connections. The loop's default
        # executor (ASGI_THREADS, else Python's min(32, CPUs + 4)) is left to
        # other code, so its size does not decide how many joins run at once.
        _executor = ThreadPoolExecutor(
            max_workers=settings.DB_POOL_MAX_SIZE, thread_name_prefix="socket-db"
        )
    return _executor


def db_call(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` as an awaitable that runs in a worker thread with its own connection."""
    # SQLite allows one writer at a time: parallel joins would only fail with
    # "database is locked" (or "table is locked" on the tests' shared-cache
    # in-memory database), so there every call keeps to the one sync thread.
    if connection.vendor != "postgresql":
        return database_sync_to_async(fn)

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            # Back to the pool at once. Channels closes old connections after
            # a call too, but not everywhere (its test communicator turns that
            # off), and an idle worker must never keep one checked out.
            connections.close_all()

    return database_sync_to_async(call, thread_sensitive=False, executor=_parallel_executor())


def finish_calls() -> None:
    """Wait for the calls in flight and stop the threads (tests; a new call starts new ones)."""
    global _executor
    executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
