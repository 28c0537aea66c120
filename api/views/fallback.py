"""API answers for what no API view handles: unknown URLs, and the errors Django
raises before or around a view (config/urls.py names them as handler400 and
handler500). Pages keep Django's HTML answers."""

import sys

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from api.errors import (
    RETRY_AFTER_SECONDS,
    SERVER_ERROR_DETAIL,
    error_response,
    is_api_request,
    refusal_for,
    unavailable_response,
)
from realtime.db import DB_DOWN


# Exempt, or Django's CSRF check would answer a POST here with its HTML 403
# page; the view changes nothing, so there is nothing to forge.
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown /api/ URLs answer in the API's envelope, not with the site's HTML 404 page."""
    return error_response(code="not_found", detail="There is no such API endpoint.", status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A SuspiciousOperation or BadRequest raised before a view, such as a Host header
    that is not in ALLOWED_HOSTS. Must not call request.get_host(): that may be what raised.
    """
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        return error_response(
            code="bad_request", detail="The Host header does not name this server.", status=400
        )
    # Django's messages can repeat what the client sent, or name settings.
    refusal = refusal_for(exception)
    return error_response(
        code=refusal.default_code, detail=str(refusal.detail), status=refusal.status_code
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """An error outside the API views (in a middleware, say); inside them the API's
    exception handler answers. One the database caused while it was away is a 503 that
    says to try again, not a 500: rendered without the request's context processors,
    which would read the database again."""
    if isinstance(sys.exc_info()[1], DB_DOWN):
        if is_api_request(request):
            return unavailable_response()
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if not is_api_request(request):
        return defaults.server_error(request)
    return error_response(code="server_error", detail=SERVER_ERROR_DETAIL, status=500)
