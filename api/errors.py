"""Every API error is JSON: {"error": "<code>", "detail": "<text>"}."""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from realtime.db import DB_DOWN

logger = logging.getLogger("rollcall.api")


class Refused(exceptions.APIException):
    """A service rule refused the input; `code` is the rule's own (e.g. invalid_amount)."""

    status_code = 400
    default_code = "invalid"
    default_detail = "The request was refused."


class Malformed(exceptions.APIException):
    """Django refused the request itself: a bad Host header, too many fields, a body too big."""

    status_code = 400
    default_code = "bad_request"
    default_detail = "The request could not be understood."


class TooLarge(exceptions.APIException):
    """The body is over DATA_UPLOAD_MAX_MEMORY_SIZE: the same request will never fit."""

    status_code = 413
    default_code = "too_large"

    def __init__(self):
        super().__init__(
            f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
            "this API accepts."
        )


def refusal_for(exc: SuspiciousOperation | BadRequest) -> exceptions.APIException:
    """What the client is told when Django refused the request itself."""
    return TooLarge() if isinstance(exc, RequestDataTooBig) else Malformed()


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


SERVER_ERROR_DETAIL = "Something went wrong on our side."
UNAVAILABLE = "The server cannot reach its database just now; try again shortly."
RETRY_AFTER_SECONDS = 30


def error_response(*, code: str, detail: str, status: int) -> JsonResponse:
    """The envelope for answers made outside DRF's exception handler."""
    return JsonResponse({"error": code, "detail": detail}, status=status)


def unavailable_response() -> JsonResponse:
    """The database is away: 503, come back in RETRY_AFTER_SECONDS."""
    response = error_response(code="unavailable", detail=UNAVAILABLE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def is_api_request(request: HttpRequest) -> bool:
    # path_info, not get_host() or the full URL: it is all a handler for a
    # refused Host header may still read.
    return request.path_info.startswith("/api/")


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(detail)


def exception_handler(exc, context):
    # DRF turns these two into API errors only inside its own handler; convert
    # them first so they get the envelope too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, (SuspiciousOperation, BadRequest)):
        # Raised while a view reads the request (TooManyFieldsSent,
        # RequestDataTooBig): the client's fault, not a 500. Logged where Django
        # logs them; the client is not told Django's message, which names settings.
        if isinstance(exc, SuspiciousOperation):
            security_logger = logging.getLogger(f"django.security.{exc.__class__.__name__}")
            security_logger.error(str(exc))
        exc = refusal_for(exc)
    if isinstance(exc, DB_DOWN):
        logger.warning("API request while the database is away: %r", exc)
        return unavailable_response()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return error_response(code="server_error", detail=SERVER_ERROR_DETAIL, status=500)
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        if isinstance(code, (dict, list)):
            code = "invalid"
        data = {"error": str(code), "detail": _first_message(exc.detail)}
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            data["fields"] = exc.detail
        response.data = data
    return response
