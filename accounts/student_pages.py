"""Which pages a student's login may open; every other page answers 403 to them.

A student (uses_student_nav: linked to a Student, not staff, teaching no
course) reaches their own pages, the device page, their week and their
account, and nothing of the lecturers' or the office's. The list is of pages
students may open, not of pages they may not: a page added later is refused
to students until it is named here (a test classifies every URL, so a new
one cannot be forgotten). Each view still checks permissions itself; this is
the second lock. Django admin and the API under /api/ keep their own checks.

The decision reads the flag chosen at sign-in (accounts/navigation.py), so it
costs no query; a session from before the flag existed is decided once.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.navigation import STUDENT_NAV, uses_student_nav

# Namespaced names ("portal:me") or plain names ("device") students may open.
STUDENT_PAGES = frozenset(
    {
        "login",
        "login-code",
        "logout",
        "device",
        "device-register",
        "portal:me",
        "portal:sessions",
        "portal:devices",
        "portal:device-replace",
        "timetable:week",
        "timetable:feed-new",
        "timetable:feed-revoke",
        "timetable:feed",
        # Their own receipts only: the view checks whose payment it is.
        "payments:payment-receipt",
        # Their excuse requests and their own attendance report (the views check
        # whose they are); named ahead of the apps that route them.
        "excuses:mine",
        "excuses:new",
        "excuses:attachment",
        "reports:student-attendance",
    }
)
# Whole namespaces students may open: their account (sessions, password).
STUDENT_NAMESPACES = frozenset({"accounts"})
# Routes with their own permission checks and their own refusals.
OWN_CHECKS = ("admin/", "api/")


def is_student(request: HttpRequest) -> bool:
    """The signed-in user is a student (the sign-in's choice, kept in the web session)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    session = request.session
    if STUDENT_NAV not in session:
        session[STUDENT_NAV] = uses_student_nav(user)
    return bool(session[STUDENT_NAV])


def student_may_open(match) -> bool:
    if match is None or match.route.startswith(OWN_CHECKS):
        return True
    if match.namespace in STUDENT_NAMESPACES:
        return True
    return match.view_name in STUDENT_PAGES


class StudentPagesMiddleware:
    """Refuses (403) a student's request for any page not in STUDENT_PAGES."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not student_may_open(request.resolver_match) and is_student(request):
            raise PermissionDenied("This page is not for students.")
        return None
