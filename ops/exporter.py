"""/metrics for a process without a web server of its own (the sweeper).

`cleanup_sessions --loop --metrics-port P` starts this through
settings.METRICS_EXPORTER. It serves the same figures and follows the same
rule as the web processes' /metrics: an allowed network or the bearer token.
"""

import logging
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ops import metrics

logger = logging.getLogger("rollcall.ops")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # Prometheus scrapes every few seconds
        pass


def metrics_app(environ, start_response):
    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found\n"]
    if not metrics.may_read_metrics(
        remote_addr=environ.get("REMOTE_ADDR"), authorization=environ.get("HTTP_AUTHORIZATION")
    ):
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"Forbidden\n"]
    body = metrics.exposition()
    start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE)])
    return [body]


def start(*, host: str, port: int) -> WSGIServer:
    """Serve /metrics on host:port from a daemon thread; return the server (for its port)."""
    server = make_server(host, port, metrics_app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="rollcall-metrics", daemon=True)
    thread.start()
    logger.debug("Metrics on http://%s:%s/metrics", host, server.server_port)
    return server
