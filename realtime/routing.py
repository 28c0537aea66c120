"""WebSocket routes, each behind the checks its kind of authentication needs.

The dashboard socket authenticates by the session cookie, so a page on
another site must not open it: its Origin must be one of ALLOWED_HOSTS
(channels refuses a missing Origin too). The device socket authenticates by a
token in its first frame; programs and phones' apps send no Origin, which is
fine, but a browser page from a foreign site is refused. The events socket
takes either: with no Origin (a program) only a token frame authenticates it,
never the cookie, so it is no way around the dashboard's check.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)
from django.conf import settings
from django.urls import path, re_path

from realtime.dashboard import DashboardConsumer
from realtime.device import DeviceConsumer
from realtime.events import EventsConsumer


class OptionalOriginValidator(OriginValidator):
    """Like AllowedHostsOriginValidator, but a connection without an Origin passes."""

    def __init__(self, application):
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def cookie_socket(consumer):
    return AllowedHostsOriginValidator(AuthMiddlewareStack(consumer))


websocket_urlpatterns = [
    path("ws/device/", OptionalOriginValidator(DeviceConsumer.as_asgi())),
    path("ws/dashboard/", cookie_socket(DashboardConsumer.as_asgi())),
    path("ws/events/", OptionalOriginValidator(AuthMiddlewareStack(EventsConsumer.as_asgi()))),
    # Any other path is refused at the handshake instead of raising in the router.
    re_path(r"", WebsocketDenier.as_asgi()),
]
