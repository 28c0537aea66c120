"""Many sockets' database calls of one kind, run as one call per batch.

A class starting, or reconnecting after a server restart, sends thousands of
hellos and joins within seconds, and 10,000 idle devices send 500 heartbeats
a second. One call per frame spent most of its time on the way (a thread hop,
a pooled connection, a round trip per statement, Django building the query).
Here every socket's request goes into its process's queue; a worker takes
all that is waiting (up to `limit`) and hands it to a `*_many` service
function in one database call (attendance/presence.py, attendance/devices.py),
which costs a few statements for the whole batch.

A batch that fails as a whole for a reason other than the database being
out of reach (one request's bad data, say) is run again one request at a
time, so one socket's bad frame fails only that socket's request.

Nothing waits to fill a batch (except heartbeats, which `linger`): a
request that finds no worker busy starts one at once, so a lone join is as
fast as before; under load, requests pile up
while the running batch is in the database, and the next batch takes them
all. `parallel` batches of a kind run at once, on the sockets' database
threads (realtime/db.py).
"""

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from realtime.db import DB_DOWN, db_call

logger = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")


class Batcher(Generic[Request, Result]):
    def __init__(
        self,
        run: Callable[[list[Request]], list[Result | BaseException]],
        *,
        limit: int = 500,
        parallel: int = 2,
        linger: float = 0.0,
    ) -> None:
        self.run = run
        self.limit = limit
        self.parallel = parallel
        # Work that nobody waits for in a hurry (heartbeats) waits this long
        # for company before it runs: ten times fewer statements and hops.
        self.linger = linger
        # Per event loop: a server has one, the tests one per test.
        self._queues: dict[asyncio.AbstractEventLoop, list] = {}
        self._workers: dict[asyncio.AbstractEventLoop, int] = {}
        self._rounds: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()

    async def __call__(self, request: Request) -> Result:
        """The request's result; an exception the service returned for it is raised."""
        result = await self.submit(request)
        if isinstance(result, BaseException):
            # Several callers may raise one failure: each with a traceback of its own,
            # rather than every raise adding to one shared traceback.
            raise result.with_traceback(None)
        return result

    def submit(self, request: Request) -> asyncio.Future:
        """Queue the request; the future's result is the service's, an exception as a value."""
        future = asyncio.get_running_loop().create_future()
        self.post(request, functools.partial(_settle, future))
        return future

    def post(
        self, request: Request, deliver: Callable[[Result | BaseException], None]
    ) -> asyncio.Future:
        """Queue the request; `deliver` is called with its result (an exception as a value)
        as soon as its batch is back: no future, task switch or callback of its own, for
        what nobody awaits (heartbeats, hundreds a second).

        Returns the round's future: done once every request queued with this one has
        been delivered, or the work stopped (the server stopping).
        """
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = []
        queue.append((request, deliver))
        round_ = self._rounds.get(loop)
        if round_ is None:
            round_ = self._rounds[loop] = loop.create_future()
        workers = self._workers.get(loop, 0)
        if workers < self.parallel:
            self._workers[loop] = workers + 1
            task = loop.create_task(self._work(loop))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return round_

    async def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues[loop]
        try:
            while queue:
                if self.linger and len(queue) < self.limit:
                    # Before every batch short of the limit: what arrived while the last
                    # one ran waits for company too, rather than going in a batch of one.
                    await asyncio.sleep(self.linger)
                batch = queue[: self.limit]
                del queue[: self.limit]
                results = await self._run_batch([request for request, _d in batch])
                for (_request, deliver), result in zip(batch, results, strict=True):
                    try:
                        deliver(result)
                    except Exception:
                        logger.exception("Delivering a batch's result failed")
        finally:
            self._workers[loop] -= 1
            if not self._workers[loop]:
                round_ = self._rounds.pop(loop, None)
                if round_ is not None and not round_.done():
                    round_.set_result(None)
                if not queue:
                    del self._workers[loop], self._queues[loop]

    async def _run_batch(self, requests: list[Request]) -> list[Result | BaseException]:
        try:
            return await db_call(self.run)(requests)
        except DB_DOWN as exc:
            # The database is out of reach: each caller hears why (a retryable error).
            return [exc] * len(requests)
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
            logger.warning(
                "A batch of %d failed (%r); running its requests one at a time",
                len(requests),
                exc,
            )
        results: list[Result | BaseException] = []
        for request in requests:
            try:
                results.extend(await db_call(self.run)([request]))
            except Exception as exc:
                results.append(exc)
        return results


def _settle(future: asyncio.Future, result) -> None:
    if not future.done():
        future.set_result(result)
