"""A subscriber's side of the count limit: latest wins, at most one push per interval.

Each server process already folds its own count changes (broadcast.py); a
socket fed by several processes folds them again here, so whatever the number
of processes it sends at most 10 count updates a second per session. The
first update after a quiet spell goes out at once; the last one is never
dropped, only delayed by at most one interval.
"""

import asyncio
from collections.abc import Awaitable, Callable

from realtime.broadcast import COUNTS_INTERVAL


class LatestWins:
    def __init__(
        self, push: Callable[[dict], Awaitable[None]], *, interval: float = COUNTS_INTERVAL
    ) -> None:
        self.push = push
        self.interval = interval
        self._latest: dict[int, dict] = {}
        self._version: dict[int, int] = {}
        self._last_push: dict[int, float] = {}
        self._last_sent: dict[int, dict] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()

    def offer(self, key: int, event: dict) -> None:
        version = event.get("version")
        if version is not None:
            # Events from several processes may cross on the way: an older
            # reading must not overwrite a newer one.
            if version <= self._version.get(key, -1):
                return
            self._version[key] = version
        if _payload(event) == self._last_sent.get(key):
            # Two readings of an unchanged count (a leading and a trailing send
            # around one commit): the subscriber already has it.
            self._latest.pop(key, None)
            return
        self._latest[key] = event
        if key in self._timers:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_push.get(key, -1e9) + self.interval - loop.time()
        if wait > 0:
            self._timers[key] = loop.call_later(wait, self._flush, key)
        else:
            self._flush(key)

    def _flush(self, key: int) -> None:
        self._timers.pop(key, None)
        event = self._latest.pop(key, None)
        if event is None:
            return
        self._last_push[key] = asyncio.get_running_loop().time()
        self._last_sent[key] = _payload(event)
        task = asyncio.ensure_future(self.push(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._latest.clear()


def _payload(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "version"}
