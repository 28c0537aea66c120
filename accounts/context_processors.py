"""What the session timeout banner needs, read from the session (no query)."""

import time

from django.conf import settings
from django.http import HttpRequest

from accounts.sessions import EXPIRES_KEY


def session_timeout(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return {}
    now = int(time.time())
    expires = session.get(EXPIRES_KEY) or now + session.get_expiry_age()
    return {
        "session_timeout": {
            "expires": expires,
            "now": now,
            "warn": settings.SESSION_WARNING_SECONDS,
        }
    }
