"""What the two lecturer sockets (dashboard and events) share: who listens, and to what."""

import logging
from collections.abc import Callable
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings

from realtime import broadcast, metrics, ticker
from realtime.audience import Audience, audience_for
from realtime.coalesce import LatestWins
from realtime.db import DB_DOWN
from realtime.layer import layer_down
from realtime.protocol import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, DATABASE_AWAY, JsonSocket

logger = logging.getLogger("rollcall.realtime")


def _web_session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


class LecturerSocket(JsonSocket):
    """Subscribes an authorised user's audience, sends a snapshot, then relays events."""

    audience: Audience | None = None

    async def start_for_signed_in(self, user) -> bool:
        """start_for the user of the session cookie; the socket closes (4401) when that web
        session ends: a sign-out in this browser or from another, a password change."""
        key = getattr(self.scope.get("session"), "session_key", None)
        if not key:
            return await self.start_for(user)
        return await self.start_for_credential(
            user, group=broadcast.web_session_group(key), valid=lambda: _web_session_exists(key)
        )

    async def start_for_credential(self, user, *, group: str, valid: Callable[[], bool]) -> bool:
        """start_for `user`, signed in by a credential (a web session, an API token) whose
        end is published to `group`: the socket closes (4401) then. It listens first and
        then asks `valid()` again, so an end in between (published to nobody) is not missed."""
        self._credential_group = group
        await self.channel_layer.group_add(group, self.channel_name)
        if not await database_sync_to_async(valid)():
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return False
        return await self.start_for(user)

    async def start_for(self, user) -> bool:
        """Subscribe `user`; close 4403 (and return False) if they may see no course."""
        audience = await database_sync_to_async(audience_for)(user)
        if audience is None:
            await self.close_with(CLOSE_FORBIDDEN)
            return False
        self.audience = audience
        # Subscribe before reading the snapshot, so no change falls between them.
        for group in audience.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        ticker.watch()
        self._watching = True
        await self._snapshot()
        if layer_down(self.channel_layer):
            await self.send_stale()
        return True

    async def dispatch(self, message):
        # Whatever reads the database (the user behind the cookie, a token, a
        # snapshot, a pushed card) may find it away: the client is told to
        # come back later (1013; the dashboard's script and htmx-ext-ws
        # reconnect after it), and the socket closes as any other would.
        try:
            await super().dispatch(message)
        except DB_DOWN as exc:
            logger.warning("%s socket closed 1013, the database is away: %r", self.kind, exc)
            await self.unavailable_then_close()

    async def connect(self):
        self.audience = None
        self._credential_group = None
        self.counts = LatestWins(self._push_counts)
        self._watching = False
        await self.accept()
        if self.scope.get(DATABASE_AWAY):
            await self.unavailable_then_close()
            return False
        return True

    async def disconnect(self, code):
        self.counts.close()
        if self._credential_group is not None:
            await self.channel_layer.group_discard(self._credential_group, self.channel_name)
        if self._watching:
            ticker.unwatch()
            self._watching = False
        if self.audience is not None:
            for group in self.audience.groups:
                await self.channel_layer.group_discard(group, self.channel_name)

    def _relevant(self, event: dict) -> bool:
        return self.audience is not None and self.audience.sees(event.get("course"))

    # --- channel-layer handlers ---------------------------------------------------------

    async def session_counts(self, event: dict) -> None:
        if self._relevant(event):
            self.counts.offer(event["session"], event)

    async def session_started(self, event: dict) -> None:
        if self._relevant(event):
            await self._push(event)

    async def session_code(self, event: dict) -> None:
        if self._relevant(event):
            await self._push(event)

    async def session_ended(self, event: dict) -> None:
        if self._relevant(event):
            await self._push(event)

    async def credential_ended(self, event: dict) -> None:
        await self.close_with(CLOSE_UNAUTHENTICATED)

    async def web_session_moved(self, event: dict) -> None:
        """The web session goes on under a new key (a password change in another tab)."""
        group = event.get("group")
        if self._credential_group is None or not isinstance(group, str):
            return
        old, self._credential_group = self._credential_group, group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.channel_layer.group_discard(old, self.channel_name)

    async def layer_down(self, event: dict) -> None:
        # Events may be missed from now on: the screen must not look live.
        if self.audience is not None:
            await self.send_stale()

    async def layer_up(self, event: dict) -> None:
        # What was published meanwhile is lost: start again from the database.
        # Versions start again too (a restarted Redis counts from 1).
        if self.audience is not None:
            self.counts.reset()
            await self._snapshot()
            await self.send_live()

    async def _push(self, event: dict) -> None:
        metrics.pushes[event["type"]].inc()
        await self.push_session_event(event)

    async def _push_counts(self, event: dict) -> None:
        metrics.pushes["session.counts"].inc()
        await self.push_counts(event)

    async def _snapshot(self) -> None:
        metrics.pushes["snapshot"].inc()
        await self.send_snapshot()

    async def session_roster(self, event: dict) -> None:
        """Students' names: only the dashboard shows them (DashboardConsumer); programs on
        the events socket do not get them."""

    # --- what each socket sends ------------------------------------------------------------

    async def send_snapshot(self) -> None:
        raise NotImplementedError

    async def push_counts(self, event: dict) -> None:
        raise NotImplementedError

    async def push_session_event(self, event: dict) -> None:
        raise NotImplementedError

    async def send_stale(self) -> None:
        """Tell the client that events may be missing until the next snapshot."""
        raise NotImplementedError

    async def send_live(self) -> None:
        """Tell the client that events flow again (a snapshot has just been sent)."""
        raise NotImplementedError
