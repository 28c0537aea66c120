"""What this project changes in a daphne server process (installed from config/asgi.py).

Only where the Twisted reactor is installed, i.e. under daphne; never in
tests, commands or the sweeper.

- Close codes. Daphne closes a socket through autobahn's sendClose, which
  allows only 1000 and 3000-4999 from an application: 1012 (and 1001, 1011,
  1013) raised an exception instead of closing. Those codes are the protocol's
  own (RFC 6455 §7.4.1, IANA registry) and the ones htmx-ext-ws reconnects
  after, so daphne's close sends them as they are.
- Bookkeeping. Daphne walks every connection once a second (to reap finished
  application instances) and every two seconds (timeouts and keepalive
  pings). With 10,000 idle sockets those walks alone took about 7 % of a
  core. They now walk every APP_CHECK_SECONDS and TIMEOUT_CHECK_SECONDS: a
  finished socket's memory is released a few seconds later, and a keepalive
  ping (every 20 s by default, only to sockets that sent nothing) goes out up
  to that much later.
- Garbage collection. The first generation is collected after
  GC_YOUNG_THRESHOLD allocations instead of 700: each heartbeat allocates a
  few hundred short-lived objects, and with thousands of sockets the young
  collections had become a tenth of the process's CPU.
- Graceful restart on SIGTERM (realtime/shutdown.py).
"""

import gc
import sys
import time

from realtime import shutdown

# Server-sent close codes defined by RFC 6455 / IANA that autobahn refuses.
RFC_SERVER_CLOSE_CODES = frozenset({1001, 1011, 1012, 1013})
APP_CHECK_SECONDS = 5.0
TIMEOUT_CHECK_SECONDS = 10.0
GC_YOUNG_THRESHOLD = 20_000


def install() -> None:
    if "twisted.internet.reactor" not in sys.modules:
        return
    _allow_rfc_close_codes()
    _slower_bookkeeping()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
    shutdown.install()


def _allow_rfc_close_codes() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose
    if getattr(original, "rollcall_patched", False):
        return

    def server_close(self, code=None):
        if code in RFC_SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    server_close.rollcall_patched = True
    WebSocketProtocol.serverClose = server_close


def _every(seconds: float, checker, tick: float):
    """`checker` (which reschedules itself `tick` s later) run at most every `seconds` s."""
    from twisted.internet import reactor

    def run(self):
        now = time.monotonic()
        last = self.__dict__.setdefault("_rollcall_checked", {})
        if now - last.get(checker.__name__, 0.0) >= seconds:
            last[checker.__name__] = now
            checker(self)  # reschedules itself
        else:
            reactor.callLater(tick, getattr(self, checker.__name__))

    run.rollcall_patched = True
    return run


def _slower_bookkeeping() -> None:
    from daphne.server import Server

    if getattr(Server.application_checker, "rollcall_patched", False):
        return
    Server.application_checker = _every(APP_CHECK_SECONDS, Server.application_checker, 1)
    Server.timeout_checker = _every(TIMEOUT_CHECK_SECONDS, Server.timeout_checker, 2)
