"""Admin asked to filter, find or act on a value it cannot read answers with the page
and a message, never a 500.

Django's admin passes query-string lookups and posted ids to the database as they
come: a year 0 or 9999 in a date drill-down (ValueError, OverflowError when it
works out the next year), a NUL in a filter (PostgreSQL refuses it: DataError),
"abc" for an IP address or a selected row's id (ValueError). Its own
IncorrectLookupParameters covers only some of these. A change form is saved in
a transaction, so nothing of it stays; an action fails on its selection before
it writes.
"""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

logger = logging.getLogger("rollcall.admin")

UNREADABLE = (ValueError, OverflowError, DataError, ValidationError)


class AdminBadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNREADABLE):
            return None
        if not request.path.startswith(reverse("admin:index")):
            return None
        if request.method == "GET" and not request.GET:
            return None  # nothing came with the request: a fault of ours, left to show
        logger.warning(
            "Admin could not read %s %s", request.method, request.get_full_path(), exc_info=True
        )
        reason = (str(exception) or type(exception).__name__).splitlines()[0][:200]
        messages.error(request, f"That could not be read ({reason}), so it was not done.")
        return HttpResponseRedirect(request.path)
