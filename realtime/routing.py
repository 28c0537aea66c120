"""WebSocket routes, each behind the checks its kind of authentication needs.

The dashboard socket authenticates by the session cookie, so a page on
another site must not open it: its Origin must be one of ALLOWED_HOSTS
(channels refuses a missing Origin too). The device socket authenticates by a
token in its first frame; programs and phones' apps send no Origin, which is
fine, but a browser page from a foreign site is refused. The events socket
takes either: with no Origin (a program) only a token frame authenticates it,
never the cookie, so it is no way around the dashboard's check.

A refused Origin is told so with the protocol's own close code, 4403, as every
other refusal is: the socket is accepted and closed at once, before the
application sees it and with nothing sent. Refused at the handshake instead,
a browser sees only 1006, which the pages' scripts take for a network fault
and retry for ever.
"""

import asyncio
from urllib.parse import urlparse

from channels.auth import AuthMiddleware
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator, WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.urls import path, re_path

from realtime.dashboard import DashboardConsumer
from realtime.db import DB_DOWN
from realtime.device import DeviceConsumer
from realtime.events import EventsConsumer
from realtime.protocol import CLOSE_FORBIDDEN, DATABASE_AWAY


class OriginRefused(AsyncWebsocketConsumer):
    """A socket whose Origin is not allowed: opened only to close it with 4403."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_FORBIDDEN)


class AllowedOrigin(OriginValidator):
    """Channels' check of the Origin against ALLOWED_HOSTS, closing 4403 when it fails.

    `required`: whether a connection without an Origin is refused too (a
    cookie-authenticated socket) or passes (one that authenticates by token).
    """

    def __init__(self, application, *, required: bool):
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)
        self.required = required
        self.refused = OriginRefused.as_asgi()

    async def __call__(self, scope, receive, send):
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        if self.allows(origins[-1].decode("latin1") if origins else None):
            return await self.application(scope, receive, send)
        return await self.refused(scope, receive, send)

    def allows(self, origin: str | None) -> bool:
        if origin is None:
            return not self.required
        try:
            return self.validate_origin(urlparse(origin))
        except ValueError:  # "http://[", a port out of range: no site's Origin
            return False


USER_LOOKUP_SECONDS = 3.0


class CookieUser(AuthMiddleware):
    """Channels' scope["user"] from the session cookie, surviving a database that is away.

    Looking the user up reads the session and the user's row; if that fails
    the user is anonymous and the scope says why (DATABASE_AWAY), so the
    socket closes with 1013 (come back later) and not an HTTP 500 at the
    handshake or a 4401 that would make a page stop trying.
    """

    async def resolve_scope(self, scope):
        try:
            # Within daphne's handshake timeout (5 s): a database or cache that hangs
            # must not hold the handshake until daphne drops it (a browser sees 1006).
            await asyncio.wait_for(super().resolve_scope(scope), USER_LOOKUP_SECONDS)
        except (*DB_DOWN, TimeoutError):
            from django.contrib.auth.models import AnonymousUser

            scope["user"]._wrapped = AnonymousUser()
            scope[DATABASE_AWAY] = True


def cookie_auth(inner):
    """channels.auth.AuthMiddlewareStack, with CookieUser."""
    return CookieMiddleware(SessionMiddleware(CookieUser(inner)))


websocket_urlpatterns = [
    path("ws/device/", AllowedOrigin(DeviceConsumer.as_asgi(), required=False)),
    path(
        "ws/dashboard/",
        AllowedOrigin(cookie_auth(DashboardConsumer.as_asgi()), required=True),
    ),
    path(
        "ws/events/",
        AllowedOrigin(cookie_auth(EventsConsumer.as_asgi()), required=False),
    ),
    # Any other path is refused at the handshake instead of raising in the router.
    re_path(r"", WebsocketDenier.as_asgi()),
]
