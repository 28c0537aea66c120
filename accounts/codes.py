"""One-time sign-in codes for schools without email: printed, single use, expiring.

A new code replaces the user's open one (a conditional unique constraint keeps
one open code per user, even when two sheets are printed at once).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SignInCode
from accounts.secrets import hash_secret, new_code, normalise_code, secret_matches

PURPOSE = "sign-in-code"


@dataclass(frozen=True)
class PrintedCode:
    user: AbstractBaseUser
    code: str
    expires_at: datetime


class CodeBusy(Exception):
    """Another request was issuing codes for the same people at the same moment."""


def issue_sign_in_codes(
    *, users: Iterable[AbstractBaseUser], by: AbstractBaseUser | None, now: datetime | None = None
) -> list[PrintedCode]:
    """A fresh code for each user (their open code, if any, stops working)."""
    now = now or timezone.now()
    users = [u for u in users if u.is_active]
    expires = now + timedelta(days=settings.SIGN_IN_CODE_DAYS)
    codes = [new_code() for _ in users]
    try:
        with transaction.atomic():
            SignInCode.objects.filter(
                user__in=[u.pk for u in users], used_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            SignInCode.objects.bulk_create(
                [
                    SignInCode(
                        user=user,
                        code_hash=hash_secret(normalise_code(code), purpose=PURPOSE),
                        created_at=now,
                        expires_at=expires,
                        created_by=by,
                    )
                    for user, code in zip(users, codes, strict=True)
                ],
                batch_size=1000,
            )
    except IntegrityError:
        raise CodeBusy(
            "Codes for these people were being printed at the same time; try again."
        ) from None
    return [
        PrintedCode(user=user, code=code, expires_at=expires)
        for user, code in zip(users, codes, strict=True)
    ]


def redeem_sign_in_code(*, user: AbstractBaseUser, code: str, now: datetime | None = None) -> bool:
    """True, once, for the user's open and unexpired code; the code is used up."""
    now = now or timezone.now()
    candidate = (
        SignInCode.objects.filter(
            user=user, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        )
        .only("pk", "code_hash")
        .first()
    )
    if candidate is None or not secret_matches(
        normalise_code(code), candidate.code_hash, purpose=PURPOSE
    ):
        return False
    # Two sign-ins racing with one code: only one update claims it.
    return bool(
        SignInCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(used_at=now)
    )
