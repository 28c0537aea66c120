"""Join-code rotation, driven from each server process that has a lecturer watching.

While at least one dashboard or events socket is open in a process, a task
on its event loop rotates due codes once a second. Several processes may
run it at once: codes.rotate_code only rotates when its conditional UPDATE
wins, so a code never rotates twice for one interval and each rotation is
pushed once. The sweeper rotates codes too (attendance/sweeper.py), for the
time when no lecturer's socket is open anywhere.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from attendance import codes

logger = logging.getLogger("rollcall.realtime")

TICK_SECONDS = 1.0

_watchers: dict[asyncio.AbstractEventLoop, int] = {}
_tasks: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


async def _rotate_forever() -> None:
    while True:
        try:
            await database_sync_to_async(codes.rotate_due_codes)()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Join-code rotation failed; trying again")
        await asyncio.sleep(TICK_SECONDS)


def watch() -> None:
    loop = asyncio.get_running_loop()
    _watchers[loop] = _watchers.get(loop, 0) + 1
    if loop not in _tasks:
        _tasks[loop] = loop.create_task(_rotate_forever())


def unwatch() -> None:
    loop = asyncio.get_running_loop()
    left = _watchers.get(loop, 0) - 1
    if left > 0:
        _watchers[loop] = left
        return
    _watchers.pop(loop, None)
    task = _tasks.pop(loop, None)
    if task is not None:
        task.cancel()
