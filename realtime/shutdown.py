"""Graceful restart: SIGTERM closes every socket with 1012, lets the work in flight finish, stops.

Daphne's own SIGTERM stops the reactor at once: sockets drop without a close
frame (the browser sees 1006), and a join half-way through its database call
is cut off. Here SIGTERM instead

1. stops reading frames and waits (at most DRAIN_SECONDS) for the sockets'
   database calls in flight, so a join half-way through is written and
   answered, and for the count pushes they queued;
2. closes every WebSocket of the process with 1012 (Service Restart), the code
   after which htmx-ext-ws reconnects and device.js and the simulator come back
   at once, with jitter; a socket that opens meanwhile is closed the same way;
3. keeps the devices' presence rows as they are: the devices are back within
   a second or two (on another process behind the load balancer, or on this
   one restarted), so the lecturer's count does not dip, and a device that
   never comes back is swept after three heartbeat intervals as usual;
4. stops the reactor, as daphne would have at once.

A second SIGTERM stops at once. Installed only in a process whose Twisted
reactor runs (daphne), never in tests or commands.
"""

import asyncio
import logging
import signal
import time

from realtime import broadcast, db
from realtime.protocol import CLOSE_SERVICE_RESTART, JsonSocket, open_sockets

logger = logging.getLogger("rollcall.realtime")

DRAIN_SECONDS = 10.0
CLOSE_WAIT_SECONDS = 3.0
# A count push waits at most this long behind the previous one (broadcast.py).
PUSH_SETTLE_SECONDS = broadcast.COUNTS_INTERVAL * 2


def install() -> None:
    """Take over SIGTERM once daphne's reactor runs (its own handler is installed by then)."""
    from twisted.internet import reactor

    reactor.callWhenRunning(_take_over_sigterm)


def _take_over_sigterm() -> None:
    loop = asyncio.get_event_loop()
    loop.add_signal_handler(signal.SIGTERM, _on_sigterm, loop)


def _on_sigterm(loop: asyncio.AbstractEventLoop) -> None:
    if JsonSocket.draining:
        logger.warning("Second SIGTERM: stopping now")
        _stop_reactor()
        return
    JsonSocket.draining = True
    loop.create_task(_drain())


async def close_all_sockets() -> int:
    """Close every open socket with 1012; how many there were."""
    sockets = [socket for kind in open_sockets.values() for socket in list(kind)]
    await asyncio.gather(*(s.close_with(CLOSE_SERVICE_RESTART) for s in sockets))
    return len(sockets)


async def _drain() -> None:
    started = time.monotonic()
    try:
        # Frames that arrive from now on are dropped (JsonSocket.receive); the
        # calls already running finish and their replies go out first.
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(None, db.finish_calls), DRAIN_SECONDS)
        # What those calls committed is announced by the count publishers'
        # threads or the retry queue; the loop still runs to carry it out.
        await asyncio.sleep(PUSH_SETTLE_SECONDS)
        deadline = started + DRAIN_SECONDS
        while broadcast.retries.waiting() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        closed = await close_all_sockets()
        logger.warning(
            "SIGTERM: closed %d sockets with %d after %.2f s; stopping",
            closed,
            CLOSE_SERVICE_RESTART,
            time.monotonic() - started,
        )
        # The close frames must leave before the reactor stops (else the
        # clients see 1006): wait for the clients' replies, briefly.
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        while any(open_sockets.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    except Exception:
        logger.exception("SIGTERM: draining failed; stopping anyway")
    finally:
        _stop_reactor()


def _stop_reactor() -> None:
    from twisted.internet import reactor

    if reactor.running:
        reactor.stop()
