"""The /ws/dashboard/ socket (DESIGN §4): the lecturer's page, kept live.

It sends HTML fragments marked hx-swap-oob, which the htmx WebSocket
extension swaps into the page by id. They come from the page's own partial
templates, so a pushed card is exactly what a reload would show.
"""

import re

from channels.db import database_sync_to_async
from django.conf import settings
from django.template.loader import render_to_string

from realtime import snapshots
from realtime.broadcast import ROSTERS_PER_SECOND
from realtime.coalesce import LatestWins
from realtime.lecturer import LecturerSocket
from realtime.protocol import CLOSE_UNAUTHENTICATED


def _base_url(scope: dict) -> str:
    """The page's own address: the Origin header, which the router already checked."""
    for name, value in scope.get("headers", []):
        if name == b"origin":
            origin = value.decode("latin1")
            if origin.startswith(("http://", "https://")):
                return origin
    return ""


def _csrf_token(scope: dict) -> str:
    """The page's CSRF secret, so pushed Start/End forms post like the page's own.

    Django accepts the unmasked secret from its cookie as a form token.
    """
    token = (scope.get("cookies") or {}).get(settings.CSRF_COOKIE_NAME, "")
    return token if re.fullmatch(r"[A-Za-z0-9]{32}", token) else ""


class DashboardConsumer(LecturerSocket):
    kind = "dashboard"

    async def connect(self):
        # The live name list, folded like the counts: latest wins, a few a second.
        self.rosters = LatestWins(
            self.push_roster, per_second=ROSTERS_PER_SECOND, spacing=0.8 / ROSTERS_PER_SECOND
        )
        if not await super().connect():
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        self.base_url = _base_url(self.scope)
        self.csrf_token = _csrf_token(self.scope)
        await self.start_for_signed_in(user)

    async def handle(self, message: dict) -> None:
        # The page sends nothing; the frame rules above still apply to junk.
        return

    async def send_snapshot(self) -> None:
        html = await database_sync_to_async(snapshots.html_cards)(
            audience=self.audience, base_url=self.base_url, csrf_token=self.csrf_token
        )
        await self.send(text_data=html)

    async def push_counts(self, event: dict) -> None:
        if not self.closing:
            await self.send(text_data=snapshots.html_counts(event=event))

    async def disconnect(self, code):
        self.rosters.close()
        await super().disconnect(code)

    async def layer_up(self, event: dict) -> None:
        self.rosters.reset()  # a restarted Redis versions the name lists from 1 again
        await super().layer_up(event)

    async def session_roster(self, event: dict) -> None:
        # The audience decides: a lecturer hears only their own courses' groups.
        if self._relevant(event):
            self.rosters.offer(event["session"], event)

    async def push_roster(self, event: dict) -> None:
        """Who has checked in and who has not yet, from the card's own partial: no database read."""
        if not self.closing:
            html = render_to_string(
                "attendance/_session_roster.html",
                {"session_id": event["session"], "roster": event, "oob": True},
            )
            await self.send(text_data=html)

    async def push_session_event(self, event: dict) -> None:
        html = await database_sync_to_async(snapshots.html_card)(
            course_id=event["course"], base_url=self.base_url, csrf_token=self.csrf_token
        )
        if html and not self.closing:
            await self.send(text_data=html)

    async def send_stale(self) -> None:
        await self.send(text_data=snapshots.html_live_indicator(live=False))

    async def send_live(self) -> None:
        await self.send(text_data=snapshots.html_live_indicator(live=True))
