"""Every API error is JSON: {"error": "<code>", "detail": "<text>"}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("rollcall.api")


class Refused(exceptions.APIException):
    """A service rule refused the input; `code` is the rule's own (e.g. invalid_amount)."""

    status_code = 400
    default_code = "invalid"
    default_detail = "The request was refused."


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


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
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return JsonResponse(
            {"error": "server_error", "detail": "Something went wrong on our side."}, status=500
        )
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        if isinstance(code, (dict, list)):
            code = "invalid"
        data = {"error": str(code), "detail": _first_message(exc.detail)}
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            data["fields"] = exc.detail
        response.data = data
    return response
