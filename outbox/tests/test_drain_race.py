import pytest
from django.core import mail

from conftest import run_at_once
from outbox.delivery import drain
from outbox.mail import enqueue
from outbox.models import OutboundEmail

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_sweepers_draining_at_once_send_each_mail_once():
    for i in range(60):
        enqueue(key=f"k{i}", to=[f"s{i}@example.org"], subject=f"Mail {i}", text="body")
    results = run_at_once(3, lambda _i: drain(limit=25))
    assert not [r for r in results if isinstance(r, Exception)], results
    # Whatever the first round left (each took at most 25), the next drain sends.
    drain()
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 60
    assert len(set(subjects)) == 60
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_two_requests_enqueueing_the_same_key_make_one_mail():
    results = run_at_once(
        4, lambda i: enqueue(key="warning:1:1", to=["a@example.org"], subject=f"{i}", text="t")
    )
    assert sorted(results) == [False, False, False, True]
    assert OutboundEmail.objects.count() == 1
