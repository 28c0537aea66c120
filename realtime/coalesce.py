"""A subscriber's side of the count limit: latest wins, at most 10 pushes in any second.

Each server process already folds its own count changes into one reading
every 100 ms (broadcast.py); a socket fed by several processes folds them
again here, so whatever the number of processes it sends at most
COUNTS_PER_SECOND count updates in any one second per session. The first
update after a quiet spell goes out at once; the last one is never dropped,
only delayed, by at most a second.

Why a rolling window and not "100 ms after the previous push": readings that
leave one process 100 ms apart cross the channel layer unevenly. Held to
100 ms after the previous push, one late reading would delay every reading
after it by as much (each push anchored on the one before), so the lecturer's
screen would lag for the rest of the class. Pushes here need only
`spacing` between them, and the window keeps the limit.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from realtime.broadcast import COUNTS_PER_SECOND

WINDOW_SECONDS = 1.0
# Less than the publishers' 100 ms, so a reading that arrives early after a
# late one goes out; the window still holds the rate.
SPACING_SECONDS = 0.08


class LatestWins:
    def __init__(
        self,
        push: Callable[[dict], Awaitable[None]],
        *,
        per_second: int = COUNTS_PER_SECOND,
        window: float = WINDOW_SECONDS,
        spacing: float = SPACING_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.push = push
        self.per_second = per_second
        self.window = window
        self.spacing = spacing
        self._clock = clock
        self._latest: dict[int, dict] = {}
        self._version: dict[int, int] = {}
        self._pushed_at: dict[int, deque[float]] = {}
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
        now = self._now()
        wait = self._next_slot(key, now) - now
        if wait > 0:
            self._timers[key] = asyncio.get_running_loop().call_later(wait, self._flush, key)
        else:
            self._flush(key)

    def _next_slot(self, key: int, now: float) -> float:
        """The earliest time the next push of `key` keeps both rules."""
        pushed = self._pushed_at.get(key)
        if not pushed:
            return now
        slot = pushed[-1] + self.spacing
        if len(pushed) >= self.per_second:
            slot = max(slot, pushed[-self.per_second] + self.window)
        return slot

    def _flush(self, key: int) -> None:
        self._timers.pop(key, None)
        event = self._latest.pop(key, None)
        if event is None:
            return
        pushed = self._pushed_at.setdefault(key, deque(maxlen=self.per_second))
        pushed.append(self._now())
        self._last_sent[key] = _payload(event)
        task = asyncio.ensure_future(self.push(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def reset(self) -> None:
        """Forget what was sent and each reading's version: a snapshot starts afresh."""
        self.close()
        self._version.clear()
        self._last_sent.clear()

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._latest.clear()


def _payload(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "version"}
