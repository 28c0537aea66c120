import pytest
from django.urls import reverse

from outbox.mail import enqueue
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_mail():
    enqueue(key="k", to=["a@example.org"], subject="Lost", text="t")
    OutboundEmail.objects.update(status="failed", attempts=8, last_error="451 try later")
    return OutboundEmail.objects.get()


def test_a_superuser_sends_a_failed_mail_again(client, make_user, failed_mail):
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:outbox_outboundemail_changelist")
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"action": "send_again", "_selected_action": [failed_mail.pk]}, follow=True
    )
    assert response.status_code == 200
    failed_mail.refresh_from_db()
    assert (failed_mail.status, failed_mail.attempts) == ("pending", 0)


def test_staff_without_the_right_may_look_but_not_resend(client, make_user, failed_mail):
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk", staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_outboundemail"))
    client.force_login(clerk)
    url = reverse("admin:outbox_outboundemail_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert "send_again" not in page.content.decode()
    client.post(url, {"action": "send_again", "_selected_action": [failed_mail.pk]})
    failed_mail.refresh_from_db()
    assert failed_mail.status == "failed"
