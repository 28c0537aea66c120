"""The password reset form sends at most one email per login in each ten-minute window,
so it cannot flood anyone's inbox; the page answers the same either way."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.forms import RESET_EMAIL_WINDOW_SECONDS
from outbox.models import OutboundEmail


@pytest.fixture
def lecturer(db):
    return get_user_model().objects.create_user(
        "ada", email="ada@example.com", password="a-long-password-1"
    )


def _ask(client, email: str):
    return client.post(reverse("accounts:password-reset"), {"email": email})


def _resets(email: str) -> int:
    return sum(email in row.to for row in OutboundEmail.objects.filter(subject__contains="Reset"))


def test_asking_again_within_the_window_sends_nothing_new(client, lecturer):
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        first = _ask(client, lecturer.email)
    with time_machine.travel(start.timestamp() + RESET_EMAIL_WINDOW_SECONDS - 1, tick=False):
        for _ in range(5):
            again = _ask(client, lecturer.email.upper())
    assert first.status_code == again.status_code == 302
    assert first.url == again.url == reverse("accounts:password-reset-done")
    assert _resets(lecturer.email) == 1


def test_the_next_window_sends_a_new_email(client, lecturer):
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        _ask(client, lecturer.email)
    with time_machine.travel(start.timestamp() + RESET_EMAIL_WINDOW_SECONDS, tick=False):
        _ask(client, lecturer.email)
    assert _resets(lecturer.email) == 2


def test_each_login_has_its_own_window(client, lecturer):
    other = get_user_model().objects.create_user("grace", email="grace@example.com")
    _ask(client, lecturer.email)
    _ask(client, other.email)
    assert _resets(lecturer.email) == 1 and _resets(other.email) == 1


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, db):
    response = _ask(client, "nobody@example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:password-reset-done")
    assert not OutboundEmail.objects.exists()
