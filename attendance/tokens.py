"""Secrets for devices and programs: made random, stored as hashes, checked in constant time.

The secrets are 256-bit random values, so a fast hash (SHA-256) is enough:
there is nothing to brute-force that a slow password hash would protect.
"""

import hashlib
import hmac
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from attendance.models import ApiToken
from realtime import broadcast

PREFIX_LENGTH = 8


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def plausible_secret(secret: object) -> bool:
    """Could this be one of ours? Every secret and key made here is printable ASCII;
    anything else (a NUL, a lone surrogate that UTF-8 cannot encode) is refused
    before it reaches a hash or a query."""
    return isinstance(secret, str) and secret.isascii() and secret.isprintable()


def secret_matches(secret: str, stored_hash: str) -> bool:
    if not plausible_secret(secret):
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def create_api_token(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Make a token for `user`; the returned key is shown once and never stored."""
    while True:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    key = f"{prefix}.{new_secret()}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_secret(key))
    return token, key


def authenticate_api_token(key: str) -> ApiToken | None:
    """The active token for `key`, with its user, or None. Touches last_used_at."""
    if not plausible_secret(key) or "." not in key or len(key) > 200:
        return None
    prefix = key.split(".", 1)[0]
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=prefix, is_active=True, user__is_active=True)
        .first()
    )
    if token is None or not secret_matches(key, token.key_hash):
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def revoke_api_token(*, token: ApiToken) -> None:
    """Revoke `token`: refused from the next request, and its open sockets are closed."""
    changed = ApiToken.objects.filter(pk=token.pk, is_active=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    if changed:
        broadcast.end_credentials([broadcast.api_token_group(token.pk)])
