import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from attendance import sweeper
from outbox.delivery import CLAIM_SECONDS, drain, message_id, retry_delay
from outbox.mail import enqueue
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db

DOWN = "outbox.tests.backends.DownBackend"
REFUSING = "outbox.tests.backends.RefusingBackend"


def queue(n: int = 1, **kwargs) -> None:
    for i in range(n):
        enqueue(key=f"k{i}", to=[f"s{i}@example.org"], subject=f"Mail {i}", text="body", **kwargs)


def test_a_drain_sends_what_is_due_and_records_it():
    queue(2, html="<p>body</p>")
    assert drain() == {"mail_sent": 2, "mail_retried": 0, "mail_failed": 0, "mail_requeued": 0}
    assert sorted(m.subject for m in mail.outbox) == ["Mail 0", "Mail 1"]
    sent = OutboundEmail.objects.get(key="k0")
    assert (sent.status, sent.attempts, sent.claimed_until) == ("sent", 1, None)
    assert sent.sent_at is not None
    delivered = next(m for m in mail.outbox if m.subject == "Mail 0")
    assert delivered.extra_headers["Message-ID"] == message_id(sent)
    assert delivered.alternatives[0][0] == "<p>body</p>"
    # Sent once: another drain finds nothing.
    assert drain()["mail_sent"] == 0
    assert len(mail.outbox) == 2


def test_an_outage_loses_nothing_and_the_mail_goes_once_the_server_is_back(settings):
    queue(3)
    settings.OUTBOX_DELIVERY_BACKEND = DOWN
    now = timezone.now()
    assert drain(now=now)["mail_retried"] == 3
    waiting = OutboundEmail.objects.get(key="k0")
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == now + retry_delay(1)
    assert "Connection refused" in waiting.last_error
    settings.OUTBOX_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Not before its retry time...
    assert drain(now=now + timedelta(seconds=30))["mail_sent"] == 0
    # ...then all of it, once.
    assert drain(now=now + retry_delay(1))["mail_sent"] == 3
    assert len(mail.outbox) == 3
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 2)}


def test_retries_wait_longer_each_time_and_stop_at_the_limit(settings):
    settings.OUTBOX_DELIVERY_BACKEND = REFUSING
    settings.OUTBOX_MAX_ATTEMPTS = 3
    queue()
    now = timezone.now()
    waits = []
    for _ in range(3):
        stored = OutboundEmail.objects.get()
        now = stored.next_attempt_at
        drain(now=now)
        stored.refresh_from_db()
        waits.append(stored.next_attempt_at - now)
    assert waits[:2] == [timedelta(minutes=1), timedelta(minutes=2)]
    assert (stored.status, stored.attempts) == ("failed", 3)
    assert "451" in stored.last_error
    assert drain(now=now + timedelta(days=1))["mail_sent"] == 0
    assert mail.outbox == []


def test_a_mail_whose_sender_died_is_sent_again_with_the_same_message_id():
    queue()
    now = timezone.now()
    # A drainer claimed it and was killed before it could record the outcome.
    OutboundEmail.objects.update(
        status="sending", attempts=1, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
    )
    assert drain(now=now)["mail_sent"] == 0  # still within its claim: hands off
    later = now + timedelta(seconds=CLAIM_SECONDS + 1)
    with time_machine.travel(later):
        result = drain(now=later)
    assert (result["mail_requeued"], result["mail_sent"]) == (1, 1)
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id(OutboundEmail.objects.get())


@pytest.fixture
def sweep(monkeypatch):
    # The sweeper closes stale connections between sweeps; inside a test's
    # transaction that would close the test's own connection.
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)
    return sweeper.sweep_once


def test_the_sweep_runs_the_drain(settings, sweep):
    settings.SWEEP_JOBS = ["outbox.delivery.sweep_job"]
    queue(2)
    result = sweep()
    assert result.jobs == {"mail_sent": 2}
    assert result.had_work
    assert len(mail.outbox) == 2


def test_a_failing_job_does_not_stop_the_sweep_or_the_jobs_after_it(settings, caplog, sweep):
    settings.SWEEP_JOBS = ["outbox.tests.test_drain.broken_job", "outbox.delivery.sweep_job"]
    queue()
    result = sweep()
    assert result.jobs == {"mail_sent": 1}
    assert "Sweep job outbox.tests.test_drain.broken_job failed" in caplog.text


def broken_job(*, now):
    raise RuntimeError("this job is broken")


def test_drain_costs_the_same_queries_for_one_mail_and_for_many(django_assert_num_queries):
    queue(1)
    # Give back abandoned mail (2), claim in a savepoint (select, update, read), per
    # mail the claim renewed and the outcome: two UPDATEs.
    with django_assert_num_queries(7 + 2):
        drain()
    queue(20)  # keys k0..k19; k0 exists already
    OutboundEmail.objects.update(status="pending", next_attempt_at=timezone.now())
    with django_assert_num_queries(7 + 2 * 20):
        drain()


def test_a_subject_with_a_line_break_from_a_name_is_sent_on_one_line():
    # A course code or a student's name edited in admin may hold one; Django
    # refused the header at every attempt and the mail never went.
    enqueue(
        key="excuse:1", to=["l@example.org"], subject="Excuse from Ada\r\nBcc: x@evil", text="b"
    )
    assert drain()["mail_sent"] == 1
    [sent] = mail.outbox
    assert sent.subject == "Excuse from Ada Bcc: x@evil"
    assert sent.bcc == [] and sent.recipients() == ["l@example.org"]


def test_a_drain_slower_than_its_claim_leaves_what_another_drainer_took_back(monkeypatch):
    """A slow mail server: the batch's claim runs out after the first mail, and another
    sweeper takes the rest back and sends it. The first never sends those again."""
    from outbox import delivery

    queue(5)
    now = timezone.now()
    later = now + timedelta(seconds=CLAIM_SECONDS + 1)
    still_ours = delivery._still_ours
    calls = []

    def slow_batch(mail_):
        calls.append(mail_.pk)
        if len(calls) == 2:  # the first drain, before its second mail, 301 s in
            with time_machine.travel(later):
                other = drain(now=later)
            assert (other["mail_requeued"], other["mail_sent"]) == (4, 4)
        return still_ours(mail_)

    monkeypatch.setattr(delivery, "_still_ours", slow_batch)
    first = drain(now=now)
    assert first["mail_sent"] == 1
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [f"Mail {i}" for i in range(5)]  # each once
    assert set(OutboundEmail.objects.values_list("status", "claimed_by")) == {("sent", None)}


def test_a_connection_dropped_mid_batch_costs_the_untried_mails_no_attempt(settings):
    settings.OUTBOX_DELIVERY_BACKEND = "outbox.tests.backends.DroppingBackend"
    queue(4)
    now = timezone.now()
    result = drain(now=now)
    assert (result["mail_sent"], result["mail_retried"]) == (1, 1)
    rows = dict(OutboundEmail.objects.values_list("key", "attempts"))
    assert rows == {"k0": 1, "k1": 1, "k2": 0, "k3": 0}
    waiting = OutboundEmail.objects.filter(status="pending")
    assert waiting.count() == 3
    assert {m.next_attempt_at for m in waiting} == {now + retry_delay(1)}


def test_a_drain_told_another_time_claims_on_the_real_clock(settings):
    """A sweep run as if it were yesterday (cleanup_sessions --now) claims what is due
    then; a live drain meanwhile must not find those claims run out and send them too."""
    settings.OUTBOX_DELIVERY_BACKEND = "outbox.tests.backends.DrainedMeanwhileBackend"
    queue(2)
    yesterday = timezone.now() - timedelta(days=1)
    OutboundEmail.objects.update(next_attempt_at=yesterday)
    assert drain(now=yesterday)["mail_sent"] == 2
    assert sorted(m.subject for m in mail.outbox) == ["Mail 0", "Mail 1"]  # each once


def test_a_drain_told_a_later_time_leaves_live_claims_alone():
    queue()
    now = timezone.now()
    live = uuid.uuid4()  # a drainer sending it now
    OutboundEmail.objects.update(
        status="sending",
        attempts=1,
        claimed_by=live,
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
    )
    result = drain(now=now + timedelta(hours=1))
    assert (result["mail_requeued"], result["mail_sent"]) == (0, 0)
    assert OutboundEmail.objects.get().claimed_by == live
