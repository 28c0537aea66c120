"""Signed-in web sessions: recorded at sign-in, listed, ended one by one or all others.

The session data lives in Django's session store (database, cached in Redis in
production); a UserSession row per session holds what the user's sessions page
shows. "Last active" is written at most once per SESSION_ACTIVITY_SECONDS: the
time of the last write is kept in the session itself, so other requests cost
no query.
"""

from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ua_parser import parse as parse_user_agent

from accounts.imports.rows import chunked
from accounts.models import UserSession
from attendance.models import ApiToken
from realtime import broadcast

ACTIVITY_KEY = "activity_at"  # epoch seconds of the last "last active" write
EXPIRES_KEY = "expires_at"  # epoch seconds when the stored session runs out
REMEMBER_KEY = "remembered"
# Expired sessions deleted (and their sockets told) per statement by the sweep.
SWEEP_CHUNK = 1000


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def client_ip(request: HttpRequest) -> str | None:
    # The proxy in front (nginx) is trusted to set REMOTE_ADDR through daphne's
    # --proxy-headers; X-Forwarded-For from a client is never read here.
    return request.META.get("REMOTE_ADDR") or None


def remember_sign_in(*, request: HttpRequest, remember: bool) -> None:
    """A "Remember me" sign-in lasts SESSION_REMEMBER_DAYS and keeps a persistent cookie;
    otherwise the session dies with the browser (SESSION_EXPIRE_AT_BROWSER_CLOSE)."""
    if remember:
        request.session.set_expiry(
            int(timedelta(days=settings.SESSION_REMEMBER_DAYS).total_seconds())
        )
        request.session[REMEMBER_KEY] = True


def record_sign_in(
    *, request: HttpRequest, user: AbstractBaseUser, now: datetime | None = None
) -> UserSession:
    now = now or timezone.now()
    session = request.session
    if session.session_key is None:
        session.save()
    session[ACTIVITY_KEY] = int(now.timestamp())
    row, _ = UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "ip_address": client_ip(request),
            "signed_in_at": now,
            "last_active_at": now,
            "remembered": bool(session.get(REMEMBER_KEY)),
        },
    )
    return row


def note_activity(*, request: HttpRequest, now: datetime | None = None) -> bool:
    """Write "last active" if the last write is older than the interval. True if it wrote."""
    session = request.session
    key = session.session_key
    if key is None:
        return False
    now = now or timezone.now()
    last = session.get(ACTIVITY_KEY, 0)
    if now.timestamp() - last < settings.SESSION_ACTIVITY_SECONDS:
        return False
    updated = UserSession.objects.filter(session_key=key).update(
        last_active_at=now, ip_address=client_ip(request)
    )
    if not updated:
        # A session from before tracking began: start tracking it now.
        _start_tracking(request=request, key=key, now=now)
    session[ACTIVITY_KEY] = int(now.timestamp())
    return True


def _start_tracking(
    *, request: HttpRequest, key: str, now: datetime, previous_group: str = ""
) -> None:
    UserSession.objects.get_or_create(
        session_key=key,
        defaults={
            "previous_group": previous_group,
            "user": request.user,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "ip_address": client_ip(request),
            "signed_in_at": now,
            "last_active_at": now,
            "remembered": bool(request.session.get(REMEMBER_KEY)),
        },
    )


def extend_session(*, request: HttpRequest) -> None:
    """ "Stay signed in": mark the session changed so it is saved with a fresh expiry."""
    request.session.modified = True


def active_sessions(*, user: AbstractBaseUser, now: datetime | None = None) -> QuerySet:
    """The user's sessions that have not run out, most recently active first (one query)."""
    now = now or timezone.now()
    alive = Session.objects.filter(expire_date__gt=now).values("session_key")
    return UserSession.objects.filter(user=user, session_key__in=alive).order_by("-last_active_at")


def _end(keys: list[str]) -> int:
    for key in keys:
        # Through the store, so a cached session is dropped from the cache too.
        _store(key).delete(key)
    signed_out(keys)
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def signed_out(keys: list[str]) -> None:
    """The live sockets these web sessions opened (the dashboard, events) close too.

    Also those still listening under a session's key before its last change: a
    socket follows a new key when the move reaches it, and a sign-out published
    to the new key alone before then would pass it by. Called before the
    sessions' rows go, which remember that key's group."""
    if not keys:
        return
    previous = (
        UserSession.objects.filter(session_key__in=keys)
        .exclude(previous_group="")
        .values_list("previous_group", flat=True)
    )
    broadcast.end_credentials([broadcast.web_session_group(key) for key in keys] + list(previous))


def end_user_session(*, user: AbstractBaseUser, session_id: int) -> bool:
    """Sign out one of the user's own sessions (by its row id). False if not theirs or gone."""
    key = (
        UserSession.objects.filter(user=user, pk=session_id)
        .values_list("session_key", flat=True)
        .first()
    )
    if key is None:
        return False
    _end([key])
    return True


def end_other_sessions(*, user: AbstractBaseUser, keep_session_key: str | None) -> int:
    """Sign out every session of the user but this one (after a password change, say)."""
    keys = list(
        UserSession.objects.filter(user=user)
        .exclude(session_key=keep_session_key or "")
        .values_list("session_key", flat=True)
    )
    return _end(keys)


def end_all_sessions(*, user: AbstractBaseUser) -> int:
    """An admin ends every session of a user."""
    return end_other_sessions(user=user, keep_session_key=None)


def user_deactivated(*, user: AbstractBaseUser) -> None:
    """A login was made inactive: its pages refuse it already; every session of it ends
    too, with its live sockets, and the sockets its API tokens opened close (the tokens
    are refused while it is inactive)."""
    end_all_sessions(user=user)
    tokens = ApiToken.objects.filter(user=user, is_active=True).values_list("pk", flat=True)
    broadcast.end_credentials([broadcast.api_token_group(pk) for pk in tokens])


def noting_deactivation(sender, instance, update_fields=None, **kwargs) -> None:
    """pre_save of the user model: whether this save makes an active login inactive.

    Wherever it happens (the user admin, a script, a shell), a login made
    inactive is signed out everywhere once the save commits (ending_if_deactivated).
    A save that leaves is_active alone (a sign-in's last_login) reads nothing.
    """
    instance._rollcall_deactivating = bool(
        instance.pk is not None
        and not instance.is_active
        and (update_fields is None or "is_active" in update_fields)
        and sender._default_manager.filter(pk=instance.pk, is_active=True).exists()
    )


def ending_if_deactivated(sender, instance, **kwargs) -> None:
    """post_save of the user model: a login just made inactive ends everywhere on commit."""
    if getattr(instance, "_rollcall_deactivating", False):
        instance._rollcall_deactivating = False
        transaction.on_commit(lambda: user_deactivated(user=instance))


def describe_browser(user_agent: str) -> str:
    """ "Chrome on Linux", from the User-Agent header; "Unknown browser" if unreadable."""
    parsed = parse_user_agent(user_agent or "")
    browser = parsed.user_agent.family if parsed and parsed.user_agent else ""
    system = parsed.os.family if parsed and parsed.os else ""
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def sweep_job(*, now: datetime) -> dict[str, int]:
    """The sweeper's part: web sessions that ran out end as a sign-out does (their live
    sockets close, 4401), and the rows that tracked ended sessions go.

    A session runs out unannounced: its pages refuse it at the next request, but a
    dashboard or events socket it opened stayed live, pushing a class's counts to a
    screen nobody was signed in to. They now close within a tick of the expiry. An
    expired session is never extended (Django gives a request with its cookie a new,
    empty session), so deleting it by its expiry ends no live session.
    """
    result = {}
    expired = Session.objects.filter(expire_date__lt=now)
    ended = 0
    for keys in chunked(expired.values_list("session_key", flat=True), SWEEP_CHUNK):
        Session.objects.filter(session_key__in=keys, expire_date__lt=now).delete()
        signed_out(keys)
        ended += len(keys)
    if ended:
        result["web_sessions_expired"] = ended
    alive = Session.objects.filter(expire_date__gt=now).values("session_key")
    gone, _ = UserSession.objects.exclude(session_key__in=alive).delete()
    if gone:
        result["web_sessions_forgotten"] = gone
    return result


def follow_session_key(
    *, request: HttpRequest, old_key: str | None, now: datetime | None = None
) -> None:
    """The request's session kept its data under a new key (Django cycles it on a
    password change): its row follows it. With no row to move (ended meanwhile, or
    from before tracking began) the session gets a new one, so it is listed and
    "Sign out everywhere" reaches it."""
    new_key = request.session.session_key
    if not new_key or old_key == new_key:
        return
    previous_group = broadcast.web_session_group(old_key) if old_key else ""
    moved = old_key and UserSession.objects.filter(session_key=old_key).update(
        session_key=new_key, previous_group=previous_group
    )
    if not moved:
        _start_tracking(
            request=request, key=new_key, now=now or timezone.now(), previous_group=previous_group
        )
    if old_key:
        # The live sockets opened under the old key (other tabs) listen for the new one.
        broadcast.publish(
            [broadcast.web_session_group(old_key)],
            {"type": "web_session.moved", "group": broadcast.web_session_group(new_key)},
        )
