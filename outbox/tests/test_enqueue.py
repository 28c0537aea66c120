import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction

from outbox.mail import KEY_HEADER, enqueue
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db


def test_a_mail_is_stored_not_sent():
    assert enqueue(key="welcome:1", to=["ada@example.org"], subject="Hi", text="Hello")
    stored = OutboundEmail.objects.get()
    assert (stored.key, stored.to, stored.status, stored.attempts) == (
        "welcome:1",
        ["ada@example.org"],
        "pending",
        0,
    )
    assert mail.outbox == []


def test_the_same_key_twice_is_one_mail():
    assert enqueue(key="warning:7", to=["a@example.org"], subject="One", text="x") is True
    assert enqueue(key="warning:7", to=["a@example.org"], subject="Two", text="y") is False
    assert list(OutboundEmail.objects.values_list("subject", flat=True)) == ["One"]


def test_a_change_that_rolls_back_leaves_no_mail():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(key="k", to=["a@example.org"], subject="s", text="t")
        raise RuntimeError("the change failed")
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": []}, "recipient"),
        ({"to": [""]}, "recipient"),
        ({"key": ""}, "key"),
        ({"key": "k" * 201}, "key"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(kwargs, message):
    arguments = {"key": "k", "to": ["a@example.org"], "subject": "s", "text": "t", **kwargs}
    with pytest.raises(ValueError, match=message):
        enqueue(**arguments)
    assert not OutboundEmail.objects.exists()


def test_djangos_send_mail_goes_through_the_outbox():
    send_mail("Reset", "Your link", "school@example.org", ["ada@example.org"])
    stored = OutboundEmail.objects.get()
    assert (stored.subject, stored.body_text, stored.from_email, stored.to) == (
        "Reset",
        "Your link",
        "school@example.org",
        ["ada@example.org"],
    )
    assert stored.key.startswith("message:")


def test_a_message_keeps_its_html_and_its_key_header():
    message = EmailMultiAlternatives(
        "Digest", "text", to=["l@example.org"], headers={KEY_HEADER: "digest:3:2026-12-04"}
    )
    message.attach_alternative("<p>html</p>", "text/html")
    message.send()
    message.send()  # a retry of the same message
    stored = OutboundEmail.objects.get()
    assert (stored.key, stored.body_html) == ("digest:3:2026-12-04", "<p>html</p>")


def test_copies_to_others_are_refused_rather_than_shown_to_everyone():
    message = EmailMultiAlternatives("s", "t", to=["a@example.org"], bcc=["b@example.org"])
    with pytest.raises(ValueError, match="to` only"):
        message.send()
    assert not OutboundEmail.objects.exists()


def test_enqueue_many_adds_each_key_once_in_bulk(django_assert_max_num_queries):
    from outbox.mail import OutgoingMail, enqueue_many

    enqueue(key="k-1", to=["a@example.com"], subject="First", text="Hello")
    mails = [
        OutgoingMail(key=f"k-{i}", to=[f"{i}@example.com"], subject="Bulk", text="Hi")
        for i in range(1, 501)
    ]
    # A few batched statements (SQLite's variable limit makes the batches small), not 500.
    with django_assert_max_num_queries(12):
        enqueue_many(mails)
    assert OutboundEmail.objects.count() == 500
    assert OutboundEmail.objects.get(key="k-1").subject == "First"
    with pytest.raises(ValueError):
        enqueue_many([OutgoingMail(key="k-x", to=[""], subject="s", text="t")])
