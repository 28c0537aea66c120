"""Putting mail in the outbox: call it inside the transaction of the change that causes it.

The mail exists if and only if the change commits, and the sweeper sends it
afterwards (outbox/delivery.py). The key makes enqueueing idempotent: a retried
request or a second sweeper enqueueing the same key adds nothing.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone

from outbox.models import OutboundEmail

KEY_HEADER = "X-Outbox-Key"


def one_line(subject: str) -> str:
    """A subject as one line of at most 300 characters. A line break in a name that
    went into it (a course code, a student's name edited in admin) would make
    Django refuse the header at every attempt: the mail would never go."""
    return " ".join(subject.split())[:300]


def enqueue(
    *,
    key: str,
    to: Iterable[str],
    subject: str,
    text: str,
    html: str = "",
    from_email: str = "",
    reply_to: Iterable[str] = (),
) -> bool:
    """Add one mail to the outbox unless one with `key` is there; True if this call added it."""
    recipients = [address for address in to if address]
    if not recipients:
        raise ValueError("A mail needs at least one recipient.")
    if not key or len(key) > OutboundEmail._meta.get_field("key").max_length:
        raise ValueError("An outbox key is 1 to 200 characters.")
    now = timezone.now()
    # get_or_create survives a concurrent enqueue of the same key: the unique
    # key decides, and the loser reads the winner's row.
    _mail, created = OutboundEmail.objects.get_or_create(
        key=key,
        defaults={
            "to": recipients,
            "subject": one_line(subject),
            "body_text": text,
            "body_html": html,
            "from_email": from_email,
            "reply_to": list(reply_to),
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return created


@dataclass(frozen=True)
class OutgoingMail:
    """One mail for enqueue_many."""

    key: str
    to: list[str]
    subject: str
    text: str
    html: str = ""
    from_email: str = ""
    reply_to: list[str] = field(default_factory=list)


def enqueue_many(mails: Iterable[OutgoingMail], *, batch_size: int = 1000) -> None:
    """Add many mails at once (a bulk import's invitations): keys already in the
    outbox are skipped, as enqueue() would, in a few statements instead of one each."""
    now = timezone.now()
    rows = []
    for mail in mails:
        recipients = [address for address in mail.to if address]
        if not recipients:
            raise ValueError("A mail needs at least one recipient.")
        if not mail.key or len(mail.key) > OutboundEmail._meta.get_field("key").max_length:
            raise ValueError("An outbox key is 1 to 200 characters.")
        rows.append(
            OutboundEmail(
                key=mail.key,
                to=recipients,
                subject=one_line(mail.subject),
                body_text=mail.text,
                body_html=mail.html,
                from_email=mail.from_email,
                reply_to=list(mail.reply_to),
                next_attempt_at=now,
                created_at=now,
            )
        )
    OutboundEmail.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)


def enqueue_message(message: EmailMessage) -> bool:
    """Django's EmailMessage into the outbox (outbox/backends.py); its key from the
    X-Outbox-Key header, or a new one."""
    if message.attachments:
        raise ValueError("The outbox does not carry attachments.")
    if message.cc or message.bcc:
        raise ValueError("The outbox sends to `to` only: one mail per recipient group.")
    key = message.extra_headers.get(KEY_HEADER) or f"message:{uuid.uuid4()}"
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((body for body, kind in message.alternatives if kind == "text/html"), "")
    return enqueue(
        key=key,
        to=message.to,
        subject=message.subject,
        text=message.body,
        html=html,
        from_email=message.from_email or "",
        reply_to=message.reply_to,
    )
