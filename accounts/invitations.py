"""Invitations: a new login with no usable password gets a mailed set-password link.

Mail goes through the outbox in the same transaction as the invitation, with
the invitation's id in its key, so a rolled-back import sends nothing and a
retried one sends no second mail.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.loader import get_template
from django.utils import timezone

from accounts.models import Invitation, SignInCode
from accounts.secrets import hash_secret, new_token
from outbox.mail import OutgoingMail, enqueue_many

PURPOSE = "invitation"


class InvitationError(Exception):
    """The link is unknown, used, revoked or expired; the message is for the user."""


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    token: str


def invite_users(
    *,
    users: Iterable[AbstractBaseUser],
    by: AbstractBaseUser | None,
    base_url: str,
    now: datetime | None = None,
) -> list[Sent]:
    """Invite every user that has an email: revoke their open invitation, make a new
    one, and put its mail in the outbox. Returns what was sent (tokens for tests)."""
    now = now or timezone.now()
    users = [u for u in users if u.email]
    if not users:
        return []
    expires = now + timedelta(days=settings.INVITATION_DAYS)
    sent: list[Sent] = []
    with transaction.atomic():
        user_ids = sorted(u.pk for u in users)
        for start in range(0, len(user_ids), 1000):
            # Two invitations for one user at once take turns, each revoking
            # the one before: else both revoke, both insert, and the
            # one-open-invitation constraint refuses the second.
            list(
                get_user_model()
                .objects.select_for_update()
                .filter(pk__in=user_ids[start : start + 1000])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            Invitation.objects.filter(
                user_id__in=user_ids[start : start + 1000],
                accepted_at__isnull=True,
                revoked_at__isnull=True,
            ).update(revoked_at=now)
        tokens = [new_token() for _ in users]
        invitations = Invitation.objects.bulk_create(
            [
                Invitation(
                    user=user,
                    email=user.email,
                    token_hash=hash_secret(token, purpose=PURPOSE),
                    created_at=now,
                    expires_at=expires,
                    created_by=by,
                )
                for user, token in zip(users, tokens, strict=True)
            ],
            batch_size=1000,
        )
        template = get_template("accounts/email/invitation.txt")
        mails = []
        for invitation, token, user in zip(invitations, tokens, users, strict=True):
            link = f"{base_url.rstrip('/')}/account/welcome/{token}/"
            text = template.render({"user": user, "link": link, "expires": expires})
            mails.append(
                OutgoingMail(
                    key=f"accounts-invitation-{invitation.pk}",
                    to=[user.email],
                    subject="Your Roll-call sign-in",
                    text=text,
                )
            )
            sent.append(Sent(invitation=invitation, token=token))
        enqueue_many(mails)
    return sent


def open_invitation(*, token: str, now: datetime | None = None) -> Invitation:
    """The usable invitation for `token`, or InvitationError saying why not."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("user")
        .filter(token_hash=hash_secret(token or "", purpose=PURPOSE))
        .first()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationError("This invitation link is not valid. Ask the office for a new one.")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation was already used. Sign in with your password.")
    if invitation.expires_at <= now or not invitation.user.is_active:
        raise InvitationError("This invitation has expired. Ask the office for a new one.")
    return invitation


def accept_invitation(
    *, token: str, password: str, now: datetime | None = None
) -> AbstractBaseUser:
    """Set the user's password from an invitation; the link works once."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = open_invitation(token=token, now=now)
        # A concurrent acceptance of the same link updates nothing here.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=now)
        if not claimed:
            raise InvitationError("This invitation was already used. Sign in with your password.")
        user = invitation.user
        user.set_password(password)
        user.save(update_fields=["password"])
        password_chosen(user=user, now=now)
    return user


def password_chosen(*, user: AbstractBaseUser, now: datetime | None = None) -> None:
    """The user has a password of their own now (set from an invitation, changed, or
    reset): the ways in made for them before it, an open invitation link and a
    printed sign-in code, stop working. Else a mailed link or a sheet left on a
    desk would still open the account, after a change meant to shut others out."""
    now = now or timezone.now()
    Invitation.objects.filter(user=user, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    SignInCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
