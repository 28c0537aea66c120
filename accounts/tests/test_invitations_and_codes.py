"""Invitations (set-password links by mail), printed one-time codes, password reset."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.codes import issue_sign_in_codes, redeem_sign_in_code
from accounts.imports.run import import_school
from accounts.invitations import invite_users
from accounts.models import Invitation, SignInCode, UserSession
from accounts.tests.files import csv_bytes
from outbox.delivery import drain
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = {"new_password1": "correct-horse-42", "new_password2": "correct-horse-42"}


@pytest.fixture
def invited(db):
    user = get_user_model().objects.create(
        username="grace", email="grace@example.com", password=make_password(None)
    )
    [sent] = invite_users(users=[user], by=None, base_url="http://testserver/")
    return user, sent.token


def test_the_invitation_link_sets_the_password_once_and_signs_in(client, invited, students):
    user, token = invited
    url = reverse("accounts:invitation", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and "grace" in page.content.decode()
    response = client.post(url, NEW_PASSWORD)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("correct-horse-42")
    assert client.get(reverse("accounts:sessions")).status_code == 200
    # The link works once.
    again = Client().get(url)
    assert again.status_code == 410 and "already used" in again.content.decode()


def test_an_expired_or_unknown_invitation_is_refused(client, invited):
    user, token = invited
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.post(reverse("accounts:invitation", args=[token]), NEW_PASSWORD)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert client.get(reverse("accounts:invitation", args=["nope"])).status_code == 410


def test_inviting_again_replaces_the_open_invitation(invited):
    user, old_token = invited
    [new] = invite_users(users=[user], by=None, base_url="http://testserver/")
    assert Client().get(reverse("accounts:invitation", args=[old_token])).status_code == 410
    assert Client().get(reverse("accounts:invitation", args=[new.token])).status_code == 200
    assert OutboundEmail.objects.count() == 2


def test_the_invitation_mail_is_sent_by_the_outbox_with_a_working_link(client, db):
    import_school(
        kind="students",
        data=csv_bytes("student_number,first_name,last_name,email", "S1,Ada,L,ada@example.com"),
        filename="s.csv",
        dry_run=False,
        base_url="http://testserver/",
    )
    drain(now=timezone.now())
    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and "Your username is: S1" in message.body
    link = re.search(r"http://testserver(/account/welcome/\S+/)", message.body).group(1)
    assert client.post(link, NEW_PASSWORD).status_code == 302


def test_tokens_and_codes_are_stored_only_as_hashes(invited):
    _, token = invited
    codes = issue_sign_in_codes(users=[invited[0]], by=None)
    assert token not in str(list(Invitation.objects.values()))
    assert codes[0].code.replace("-", "") not in str(list(SignInCode.objects.values()))


def test_a_printed_code_signs_in_once_then_asks_for_a_password(client, invited):
    user, _ = invited
    [printed] = issue_sign_in_codes(users=[user], by=None)
    url = reverse("login-code")
    response = client.post(url, {"username": "grace", "sign_in_code": printed.code.lower()})
    assert response.status_code == 302 and response.url == reverse("accounts:password-change")
    assert "Choose a password" in client.get(response.url).content.decode()
    assert client.post(response.url, NEW_PASSWORD).status_code == 302
    other = Client()
    used = other.post(url, {"username": "grace", "sign_in_code": printed.code})
    assert used.status_code == 200 and "was used or has expired" in used.content.decode()


def test_an_expired_or_replaced_code_does_not_sign_in(invited):
    user, _ = invited
    [old] = issue_sign_in_codes(users=[user], by=None)
    [new] = issue_sign_in_codes(users=[user], by=None)
    assert not redeem_sign_in_code(user=user, code=old.code)
    later = timezone.now() + timedelta(days=15)
    assert not redeem_sign_in_code(user=user, code=new.code, now=later)
    assert redeem_sign_in_code(user=user, code=new.code)


def test_wrong_codes_count_towards_the_lockout(client, invited):
    user, _ = invited
    issue_sign_in_codes(users=[user], by=None)
    url = reverse("login-code")
    for i in range(4):
        response = client.post(
            url, {"username": "grace", "sign_in_code": "AAAA-AAAA-AAAA"}, REMOTE_ADDR=f"10.0.0.{i}"
        )
        assert response.status_code == 200
    locked = client.post(
        url, {"username": "grace", "sign_in_code": "AAAA-AAAA-AAAA"}, REMOTE_ADDR="10.0.0.9"
    )
    assert locked.status_code == 429


def test_the_code_sheet_prints_each_code_once_and_is_not_cached(client, staff_user, students):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    logins = client.post(
        reverse("admin:attendance_student_changelist"),
        {"action": "give_logins", "_selected_action": [s.pk for s in students[:2]]},
    )
    assert logins.status_code == 302
    sheet = client.post(
        reverse("admin:attendance_student_changelist"),
        {"action": "print_codes", "_selected_action": [s.pk for s in students[:2]]},
    )
    html = sheet.content.decode()
    assert "no-store" in sheet["Cache-Control"]
    assert len(re.findall(r'class="code">[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}<', html)) == 2
    assert SignInCode.objects.filter(used_at=None, revoked_at=None).count() == 2


def test_password_reset_is_mailed_through_the_outbox_and_ends_every_session(
    client, lecturer, invited
):
    lecturer.email = "lecturer@example.com"
    lecturer.save()
    phone = Client()
    phone.post(reverse("login"), {"username": "lecturer", "password": "pw"})
    client.post(reverse("accounts:password-reset"), {"email": "lecturer@example.com"})
    assert OutboundEmail.objects.filter(to=["lecturer@example.com"]).exists()
    drain(now=timezone.now())
    [message] = [m for m in mail.outbox if m.to == ["lecturer@example.com"]]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    response = client.post(form.redirect_chain[-1][0], NEW_PASSWORD)
    assert response.status_code == 302
    lecturer.refresh_from_db()
    assert lecturer.check_password("correct-horse-42")
    assert phone.get(reverse("dashboard")).status_code == 302
    assert not UserSession.objects.filter(user=lecturer).exists()


def test_an_invited_login_without_a_password_can_reset_it_by_email(client, invited):
    client.post(reverse("accounts:password-reset"), {"email": "grace@example.com"})
    assert OutboundEmail.objects.filter(subject__contains="Reset").count() == 1


def _code_signs_in(code: str) -> bool:
    response = Client().post(reverse("login-code"), {"username": "grace", "sign_in_code": code})
    return response.status_code == 302


def _invitation_opens(token: str) -> bool:
    return Client().get(reverse("accounts:invitation", args=[token])).status_code == 200


def test_accepting_the_invitation_cancels_the_printed_code(client, invited):
    user, token = invited
    [printed] = issue_sign_in_codes(users=[user], by=None)
    assert (
        client.post(reverse("accounts:invitation", args=[token]), NEW_PASSWORD).status_code == 302
    )
    assert not _code_signs_in(printed.code)


def test_choosing_a_password_after_a_code_cancels_the_open_invitation(client, invited):
    user, token = invited
    [printed] = issue_sign_in_codes(users=[user], by=None)
    response = client.post(
        reverse("login-code"), {"username": "grace", "sign_in_code": printed.code}
    )
    assert client.post(response.url, NEW_PASSWORD).status_code == 302
    assert not _invitation_opens(token)


def test_a_password_change_cancels_open_invitations_and_codes(client, invited):
    user, _ = invited
    user.set_password("old-password-1")
    user.save()
    [sent] = invite_users(users=[user], by=None, base_url="http://testserver/")
    [printed] = issue_sign_in_codes(users=[user], by=None)
    client.force_login(user)
    response = client.post(
        reverse("accounts:password-change"), {"old_password": "old-password-1", **NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not _invitation_opens(sent.token)
    assert not _code_signs_in(printed.code)


def test_a_password_reset_cancels_open_invitations_and_codes(client, invited):
    user, token = invited
    [printed] = issue_sign_in_codes(users=[user], by=None)
    client.post(reverse("accounts:password-reset"), {"email": "grace@example.com"})
    drain(now=timezone.now())
    [message] = [m for m in mail.outbox if "reset" in m.body]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert client.post(form.redirect_chain[-1][0], NEW_PASSWORD).status_code == 302
    assert not _invitation_opens(token)
    assert not _code_signs_in(printed.code)
