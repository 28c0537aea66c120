"""Health, readiness and metrics: answered before sessions, sign-in, CSRF and Host checks.

ops.middleware.probes serves these paths ahead of the rest of the stack, so a
load balancer or Prometheus needs no login, gets no cookie, and may use an
address that is not in ALLOWED_HOSTS (a container's IP). The responses are
marked as logged, so a failing probe every few seconds does not flood the log
(readiness logs only its changes: ops/health.py).
"""

from django.http import HttpRequest, HttpResponse, JsonResponse

from ops import health, metrics


def _quiet(response: HttpResponse) -> HttpResponse:
    # Django logs every 4xx/5xx answer ("Service Unavailable: /readyz"); these are expected.
    response._has_been_logged = True
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is checked, so a busy database cannot fail it."""
    return _quiet(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> HttpResponse:
    failed = health.readiness()
    if failed:
        return _quiet(JsonResponse({"status": "unavailable", "failed": failed}, status=503))
    return _quiet(JsonResponse({"status": "ok"}))


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics.may_read_metrics(
        remote_addr=request.META.get("REMOTE_ADDR"),
        authorization=request.headers.get("Authorization"),
    ):
        return _quiet(HttpResponse("Forbidden\n", status=403, content_type="text/plain"))
    return _quiet(HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE))


PATHS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}
