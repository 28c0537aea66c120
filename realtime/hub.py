"""One channel-layer listener per process for all its device sockets.

A channels consumer with a channel layer owns a channel of its own: a name
subscribed in Redis, a queue, and a task that waits on that queue for the
socket's whole life. A process holding 10,000 idle phones paid that 10,000
times over, and each phone also subscribed its device group in Redis. Here
the process's device sockets share one channel: the hub adds that channel to
every group one of its sockets is in (a device's group, a session's devices),
once per group, and hands each event to the sockets of the group it names:

- ``session.ended`` (``session``): the sockets in that session;
- ``device.hello`` and ``device.revoked`` (``device``): that device's sockets;
- ``layer.down`` and ``layer.up``: every socket of the process (realtime/layer.py).

Each socket's handler is awaited in turn (they only send frames), except
``layer.up``, whose handlers ask the database and so run side by side.
There is one hub per event loop: a server has one, the tests one per test.
"""

import asyncio
import itertools
import logging
from typing import Protocol

from realtime import broadcast

logger = logging.getLogger("rollcall.realtime")

RETRY_SECONDS = 0.5  # after the listener's receive failed


class Member(Protocol):
    async def session_ended(self, event: dict) -> None: ...
    async def device_hello(self, event: dict) -> None: ...
    async def device_revoked(self, event: dict) -> None: ...
    async def layer_down(self, event: dict) -> None: ...
    async def layer_up(self, event: dict) -> None: ...


def _group_of(event: dict) -> str | None:
    kind = event.get("type")
    if kind == "session.ended" and isinstance(event.get("session"), int):
        return broadcast.session_devices_group(event["session"])
    if kind in ("device.hello", "device.revoked") and isinstance(event.get("device"), int):
        return broadcast.device_group(event["device"])
    return None


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        self._subscribing: dict[str, asyncio.Future] = {}
        self._started: asyncio.Future | None = None
        self._listener: asyncio.Task | None = None
        self._ids = itertools.count(1)

    async def start(self) -> str:
        """The hub's channel, created (and listened to) on first use."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._started)

    async def _open(self) -> str:
        self.channel = await self.layer.new_channel("devices.")
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        return self.channel

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()

    def socket_id(self) -> str:
        """A name for one socket, unique across processes (for device.hello)."""
        return f"{self.channel}#{next(self._ids)}"

    async def join(self, group: str, member: Member) -> None:
        """`member` hears the group's events from now on (once this returns)."""
        channel = await self.start()
        members = self.members.setdefault(group, set())
        first = not members
        members.add(member)
        if not first:
            pending = self._subscribing.get(group)
            if pending is not None:
                await asyncio.shield(pending)
            return
        done = asyncio.get_running_loop().create_future()
        self._subscribing[group] = done
        try:
            await self.layer.group_add(group, channel)
        finally:
            if self._subscribing.get(group) is done:
                del self._subscribing[group]
            done.set_result(None)

    async def leave(self, group: str, member: Member) -> None:
        members = self.members.get(group)
        if members is None or member not in members:
            return
        members.discard(member)
        if not members:
            del self.members[group]
            self._subscribing.pop(group, None)
            await self.layer.group_discard(group, self.channel)

    async def _listen(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("The device hub could not receive; trying again")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self.dispatch(event)

    async def dispatch(self, event: dict) -> None:
        kind = event.get("type")
        if kind in ("layer.down", "layer.up"):
            everyone = set().union(*self.members.values())
            handler = kind.replace(".", "_")
            await asyncio.gather(*(self._deliver(m, handler, event) for m in everyone))
            return
        group = _group_of(event)
        if group is None:
            logger.warning("The device hub dropped an event it cannot place: %r", kind)
            return
        for member in list(self.members.get(group, ())):
            await self._deliver(member, kind.replace(".", "_"), event)

    @staticmethod
    async def _deliver(member: Member, handler: str, event: dict) -> None:
        try:
            await getattr(member, handler)(event)
        except Exception:
            logger.exception("A device socket failed to handle %s", event.get("type"))


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub(layer) -> Hub:
    """This event loop's hub on `layer`."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None or found.layer is not layer:
        if found is not None:
            found.stop()
        for closed in [closed for closed in _hubs if closed.is_closed()]:
            del _hubs[closed]
        found = _hubs[loop] = Hub(layer)
    return found
