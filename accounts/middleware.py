"""Web sessions deleted mid-request end on the login page, never on an error page.

Django raises SessionInterrupted from SessionMiddleware.process_response when
the session row vanished (a concurrent logout, say) before a modified session
could be saved. Left alone it becomes a 400 page; here it is caught by its
class and the user is sent to sign in again, with a message.
"""

import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from accounts import metrics
from accounts.sessions import EXPIRES_KEY, note_activity
from api.errors import error_response, is_api_request

logger = logging.getLogger("rollcall.sessions")

INTERRUPTED_FLAG = "interrupted"
MESSAGE = "Your session ended while the page was loading. Please sign in again."


class SessionMiddleware(DjangoSessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        # Session keys are made of lowercase letters and digits. A cookie holding
        # anything else (a NUL, written as "\000" in a quoted cookie) is no session
        # of ours, and PostgreSQL refuses a NUL in the look-up: a 500 on every page.
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if key is not None and not (key.isascii() and key.isalnum()):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.modified and not session.is_empty():
            # About to be saved with a fresh expiry: note when, so pages can warn
            # before it runs out without asking the database.
            session[EXPIRES_KEY] = int(time.time()) + session.get_expiry_age()
        try:
            return super().process_response(request, response)
        except SessionInterrupted:
            return session_interrupted_response(request)


def session_interrupted_response(request: HttpRequest) -> HttpResponse:
    metrics.WEB_SESSIONS_INTERRUPTED.inc()
    logger.warning(
        "Web session interrupted on %s %s; sending the user to sign in again",
        request.method,
        request.path,
    )
    if is_api_request(request):
        return error_response(code="session_interrupted", detail=MESSAGE, status=401)
    login_url = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({INTERRUPTED_FLAG: 1})}"
    if request.headers.get("HX-Request") == "true":
        # htmx follows HX-Redirect with a full page load instead of swapping a fragment.
        response = HttpResponseClientRedirect(login_url)
    else:
        response = HttpResponseRedirect(login_url)
    # The session is gone: make the browser forget its cookie too.
    response.delete_cookie(
        settings.SESSION_COOKIE_NAME,
        path=settings.SESSION_COOKIE_PATH,
        domain=settings.SESSION_COOKIE_DOMAIN,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
    return response


class HtmxLoginRedirectMiddleware:
    """An htmx request whose sign-in has expired goes to the login page as a whole page.

    login_required answers with a 302 that htmx would follow in the background
    and swap into the card it meant to refresh; HX-Redirect makes the browser
    load the login page instead, coming back to the page the user was on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not (request.headers.get("HX-Request") == "true" and response.status_code == 302):
            return response
        login_url = resolve_url(settings.LOGIN_URL)
        if not response["Location"].startswith(login_url):
            return response
        back_to = request.htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': back_to})}")


class SessionActivityMiddleware:
    """Keeps a signed-in session's "last active" time, written at most once an interval.

    The session-status poll of the timeout banner is not activity: counting it
    would keep an idle session alive for ever.
    """

    QUIET_PATHS = ("/account/session/status/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path not in self.QUIET_PATHS and request.user.is_authenticated:
            note_activity(request=request)
        return self.get_response(request)
