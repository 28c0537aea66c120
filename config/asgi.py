"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Each WebSocket route carries its own Origin and authentication checks; see
realtime/routing.py.
"""

import gc
import os

from django.core.asgi import get_asgi_application

from config.boot import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
load_settings_or_exit()
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from attendance.sweeper import start_in_process_sweeper_if_enabled  # noqa: E402
from realtime.daphne import install as adjust_daphne  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

start_in_process_sweeper_if_enabled()
# Under daphne: graceful SIGTERM, close codes, bookkeeping (realtime/daphne.py).
adjust_daphne()

# Everything loaded so far (Django, the apps, the URLconfs) lives as long as
# the process. Frozen, the collector no longer walks it: a full collection
# had been pausing the event loop for about 100 ms, every socket's reply
# waiting behind it, and now walks only what came after.
gc.collect()
gc.freeze()
