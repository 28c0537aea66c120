"""Calendar feeds: a user's classes at a secret address that phone calendars subscribe to.

The address holds a key made like an API token's (a prefix to find the row,
a 256-bit secret), of which only a hash is stored (attendance.tokens). A user
has one active address at a time (a conditional unique constraint); making a
new one revokes the old, and revoking leaves none.
"""

import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.tokens import hash_secret, new_secret, plausible_secret, secret_matches
from timetable.models import CalendarFeed

PREFIX_BYTES = 4
MAX_KEY_LENGTH = 200


def feed_create(*, user: AbstractBaseUser, now: datetime | None = None) -> tuple[CalendarFeed, str]:
    """A new secret address for `user`'s calendar; the key is returned once, never stored.

    The user's previous address stops working. Several at once (a double
    click, many tabs) take turns on the user's row, so each revokes the one
    before it and the last call's key is the one that works; the one-active-
    address constraint stays the backstop.
    """
    now = now or timezone.now()
    for _attempt in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        key = f"{prefix}.{new_secret()}"
        try:
            with transaction.atomic():
                get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)
                CalendarFeed.objects.filter(user=user, is_active=True).update(
                    is_active=False, revoked_at=now
                )
                feed = CalendarFeed.objects.create(
                    user=user, prefix=prefix, key_hash=hash_secret(key)
                )
        except IntegrityError:
            continue
        return feed, key
    raise RuntimeError("Could not make a calendar address: too much contention.")


def feed_revoke(*, user: AbstractBaseUser, now: datetime | None = None) -> int:
    """Stop `user`'s calendar address working; how many were active (0 or 1)."""
    return CalendarFeed.objects.filter(user=user, is_active=True).update(
        is_active=False, revoked_at=now or timezone.now()
    )


def active_feed(user: AbstractBaseUser) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, is_active=True).first()


def feed_for_key(key: str, *, now: datetime | None = None) -> CalendarFeed | None:
    """The active feed whose key is `key`, with its user, or None. Notes the use."""
    if not plausible_secret(key) or "." not in key or len(key) > MAX_KEY_LENGTH:
        return None
    prefix = key.split(".", 1)[0]
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(prefix=prefix, is_active=True, user__is_active=True)
        .first()
    )
    if feed is None or not secret_matches(key, feed.key_hash):
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now or timezone.now())
    return feed
