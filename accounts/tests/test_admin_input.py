"""Admin's lists and actions given values they cannot read: the page and a message."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.admin_input import AdminBadInputMiddleware
from payments.models import PaymentReversal

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("admin:payments_payment_changelist", "received_at__year=9999"),
        ("admin:payments_payment_changelist", "received_at__year=0"),
        ("admin:payments_term_changelist", "starts_on__year=99999999999"),
        (
            "admin:attendance_networksession_changelist",
            "date__year=9999&date__month=12&date__day=31",
        ),
        ("admin:outbox_outboundemail_changelist", "created_at__year=9999&created_at__month=12"),
        ("admin:attendance_connecteddevice_changelist", "ip_address=abc"),
        ("admin:accounts_usersession_changelist", "ip_address=abc"),
        ("admin:payments_payment_changelist", "method__exact=%00"),
        ("admin:attendance_attendancerecord_changelist", "status__exact=%00"),
    ],
)
def test_a_filter_it_cannot_read_shows_the_list_with_a_message(root_client, url, query):
    response = root_client.get(f"{reverse(url)}?{query}", follow=True)
    assert response.status_code == 200
    # The filter was applied (SQLite reads some that PostgreSQL refuses), or Django
    # refused it itself (?e=1), or the plain list came back saying why not.
    if response.redirect_chain and response.redirect_chain != [(f"{reverse(url)}?e=1", 302)]:
        assert response.redirect_chain == [(reverse(url), 302)]
        assert "could not be read" in response.content.decode()


@pytest.mark.parametrize("selected", ["abc", "1.5", "\x00", ""])
def test_an_action_on_a_selection_it_cannot_read_does_nothing_and_says_so(root_client, selected):
    url = reverse("admin:payments_payment_changelist")
    response = root_client.post(
        url,
        {"action": "void_payments", "_selected_action": [selected], "reason": "x", "confirm": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert not PaymentReversal.objects.exists()


def test_only_admin_requests_that_brought_something_are_answered_so():
    # A plain admin page that fails is a fault of ours, and pages outside admin
    # have their own answers: both are left to fail as they would.
    middleware = AdminBadInputMiddleware(lambda request: None)
    plain = RequestFactory().get(reverse("admin:payments_payment_changelist"))
    assert middleware.process_exception(plain, ValueError("broken")) is None
    elsewhere = RequestFactory().get("/students/", {"term": "x"})
    assert middleware.process_exception(elsewhere, ValueError("broken")) is None
    other = RequestFactory().get(reverse("admin:payments_payment_changelist"), {"q": "x"})
    assert middleware.process_exception(other, KeyError("x")) is None
