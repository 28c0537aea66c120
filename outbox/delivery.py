"""Sending the outbox: the sweeper's job, safe with several sweepers at once.

A drain claims due mails with one conditional UPDATE (rows another drainer
holds are skipped), sends them, and records each outcome. A failed send (the
mail server is down, an address is refused) is retried with a growing delay
and nothing is lost; after OUTBOX_MAX_ATTEMPTS it is marked failed for an
admin to look at. A mail whose drainer died mid-send (its claim ran out) is
sent again: SMTP gives no way to know whether the server took it, so the copy
carries the same Message-ID, which mail clients use to show it once.

A drain owns what it claimed (claimed_by): just before each send it renews
that mail's claim, and only if the mail is still its own; a batch slower than
its claim (a slow mail server) finds the rest taken back by another drainer
and leaves it to that one, instead of both sending it. Outcomes are recorded
only by the owner.

Claims run on the real clock, whatever time a drain is told it is (a sweep
run for another moment, `cleanup_sessions --now`): what is due follows that
moment, but a claim made in the past would be taken back at once by a live
drainer, and one made in the future would take back live drainers' claims,
and both would send the mail.
"""

import hashlib
import logging
import smtplib
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbox import metrics
from outbox.models import OutboundEmail

logger = logging.getLogger("rollcall.outbox")

CLAIM_SECONDS = 300  # long enough for a slow SMTP server to take a batch
# A send that failed this way took the connection with it: the batch stops there.
CONNECTION_LOST = (smtplib.SMTPServerDisconnected, ConnectionError)
BATCH = 100
Status = OutboundEmail.Status


def retry_delay(attempts: int) -> timedelta:
    """1 minute after the first failure, doubling, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


def message_id(mail: OutboundEmail) -> str:
    domain = (settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost").strip("<> ")
    digest = hashlib.sha256(mail.key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def as_message(mail: OutboundEmail, *, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email or None,
        to=mail.to,
        reply_to=mail.reply_to or None,
        headers={"Message-ID": message_id(mail)},
        connection=connection,
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    return message


def _claim_clock() -> datetime:
    return timezone.now()


def _give_back_abandoned(now: datetime) -> int:
    """Mails whose drainer died mid-send go back to the queue (or fail, out of attempts)."""
    abandoned = OutboundEmail.objects.filter(
        status=Status.SENDING, claimed_until__lt=_claim_clock()
    )
    failed = abandoned.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
        status=Status.FAILED,
        claimed_until=None,
        claimed_by=None,
        last_error="The sending process stopped before it finished, on the last attempt.",
    )
    metrics.FAILED.inc(failed)
    requeued = abandoned.update(
        status=Status.PENDING,
        claimed_until=None,
        claimed_by=None,
        next_attempt_at=now,
        last_error="The sending process stopped before it finished; sending again.",
    )
    return failed + requeued


def _claim(now: datetime, limit: int, owner: uuid.UUID) -> list[OutboundEmail]:
    with transaction.atomic():
        due = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        ids = list(due)
        if not ids:
            return []
        OutboundEmail.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.SENDING,
            claimed_until=_claim_clock() + timedelta(seconds=CLAIM_SECONDS),
            claimed_by=owner,
            attempts=F("attempts") + 1,
        )
        return list(OutboundEmail.objects.filter(pk__in=ids).order_by("pk"))


def _still_ours(mail: OutboundEmail) -> bool:
    """Renew the claim on `mail` if it is still this drain's (else another drainer took
    it back after the claim ran out, and sends it itself)."""
    return bool(
        OutboundEmail.objects.filter(
            pk=mail.pk, status=Status.SENDING, claimed_by=mail.claimed_by
        ).update(claimed_until=_claim_clock() + timedelta(seconds=CLAIM_SECONDS))
    )


def _release_untried(mails: list[OutboundEmail], *, now: datetime) -> None:
    if mails:
        OutboundEmail.objects.filter(
            pk__in=[m.pk for m in mails], status=Status.SENDING, claimed_by=mails[0].claimed_by
        ).update(
            status=Status.PENDING,
            claimed_until=None,
            claimed_by=None,
            attempts=F("attempts") - 1,
            next_attempt_at=now + retry_delay(1),
        )


def _record_failure(mail: OutboundEmail, error: Exception, now: datetime) -> str:
    text = f"{type(error).__name__}: {error}"[:2000]
    gave_up = mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    OutboundEmail.objects.filter(
        pk=mail.pk, status=Status.SENDING, claimed_by=mail.claimed_by
    ).update(
        status=Status.FAILED if gave_up else Status.PENDING,
        claimed_until=None,
        claimed_by=None,
        next_attempt_at=now + retry_delay(mail.attempts),
        last_error=text,
    )
    metrics.SEND_ERRORS.inc()
    if gave_up:
        metrics.FAILED.inc()
    log = logger.error if gave_up else logger.warning
    log("Mail %s (%s) not sent, attempt %s: %s", mail.pk, mail.key, mail.attempts, text)
    return "failed" if gave_up else "retried"


def drain(*, now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Send what is due; return how many were sent, retried later and given up on."""
    now = now or timezone.now()
    done = {"mail_sent": 0, "mail_retried": 0, "mail_failed": 0}
    done["mail_requeued"] = _give_back_abandoned(now)
    claimed = _claim(now, limit, owner=uuid.uuid4())
    if not claimed:
        return done
    try:
        connection = get_connection(settings.OUTBOX_DELIVERY_BACKEND, fail_silently=False)
        connection.open()
    except Exception as exc:  # the mail server is away: every claimed mail waits
        for mail in claimed:
            done[f"mail_{_record_failure(mail, exc, now)}"] += 1
        return done
    try:
        for mail in claimed:
            if not _still_ours(mail):
                logger.info("Mail %s was taken back by another drainer; not sending it", mail.pk)
                continue
            try:
                as_message(mail, connection=connection).send()
            except CONNECTION_LOST as exc:
                # The server went away mid-batch: the rest was not tried, so it waits
                # without an attempt counted against it, instead of failing one by one.
                done[f"mail_{_record_failure(mail, exc, now)}"] += 1
                _release_untried(claimed[claimed.index(mail) + 1 :], now=now)
                break
            except Exception as exc:
                done[f"mail_{_record_failure(mail, exc, now)}"] += 1
                continue
            OutboundEmail.objects.filter(
                pk=mail.pk, status=Status.SENDING, claimed_by=mail.claimed_by
            ).update(
                status=Status.SENT,
                claimed_until=None,
                claimed_by=None,
                sent_at=timezone.now(),
                last_error="",
            )
            metrics.SENT.inc()
            done["mail_sent"] += 1
    finally:
        connection.close()
    return done


def sweep_job(*, now: datetime) -> dict[str, int]:
    """The sweeper's entry (settings.SWEEP_JOBS)."""
    return {key: value for key, value in drain(now=now).items() if value}
