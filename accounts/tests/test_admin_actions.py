"""Admin actions follow Django's permissions, and nobody but a superuser can give a way
into a staff or superuser account."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, SignInCode, UserSession

pytestmark = pytest.mark.django_db

User = get_user_model()

# Every action that changes something, by the admin that offers it.
ACTIONS = {
    "auth.user": ["end_sessions", "unlock", "send_invitations", "print_codes"],
    "attendance.student": ["give_logins", "print_codes"],
    "accounts.usersession": ["end_selected"],
    "attendance.device": ["revoke_selected"],
    "attendance.networksession": ["end_selected"],
    "attendance.apitoken": ["revoke_selected"],
    "attendance.course": ["copy_last_terms_timetable"],
    "payments.term": ["bill_terms", "make_active", "copy_previous_timetable"],
    "payments.payment": ["void_payments"],
    "timetable.occurrence": ["restore"],
    "timetable.calendarfeed": ["revoke"],
}


def _staff(username: str, *codenames: str, view_all: bool = True):
    user = User.objects.create_user(username=username, password="pw", is_staff=True)
    perms = Permission.objects.filter(codename__startswith="view_") if view_all else []
    user.user_permissions.add(*perms)
    for name in codenames:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return user, client


def _offered(client: Client, model: str) -> set[str]:
    app, name = model.split(".")
    response = client.get(reverse(f"admin:{app}_{name}_changelist"))
    assert response.status_code == 200, model
    form = response.context["action_form"]  # None when no action is offered
    return {value for value, _label in form.fields["action"].choices} if form else set()


def test_every_action_that_changes_something_is_listed_here():
    registered = {
        f"{model._meta.app_label}.{model._meta.model_name}": {
            name for name in (model_admin.actions or []) if name != "delete_selected"
        }
        for model, model_admin in admin.site._registry.items()
        if model_admin.actions
    }
    expected = {k: set(v) for k, v in ACTIONS.items()} | {
        # Superusers only (its own permission), and django-axes' tidy-up of attempts
        # that have expired anyway.
        "outbox.outboundemail": {"send_again"},
        "axes.accessattempt": {"cleanup_expired_attempts"},
    }
    assert {k: v for k, v in registered.items() if v} == expected


def test_a_staff_login_that_may_only_view_is_offered_no_action():
    _viewer, client = _staff("viewer")
    for model, actions in ACTIONS.items():
        assert not _offered(client, model) & set(actions), model


def test_a_view_only_login_cannot_print_a_code_for_the_superuser_by_posting_the_action():
    root = User.objects.create_superuser("root", password="pw")
    _viewer, client = _staff("viewer")
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "print_codes", "_selected_action": [root.pk]},
    )
    assert response.status_code == 200  # the list again, no code sheet
    assert 'class="code"' not in response.content.decode()
    assert not SignInCode.objects.exists()


def test_an_admin_who_may_change_users_gives_codes_only_to_those_below_staff():
    root = User.objects.create_superuser("root", password="pw")
    colleague = User.objects.create_user("colleague", password="pw", is_staff=True)
    pupil = User.objects.create_user("pupil", password="pw", email="pupil@example.org")
    _clerk, client = _staff("clerk", "auth.change_user")
    chosen = [root.pk, colleague.pk, pupil.pk]
    sheet = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "print_codes", "_selected_action": chosen},
    )
    assert sheet.status_code == 200
    assert list(SignInCode.objects.values_list("user__username", flat=True)) == ["pupil"]
    assert "only a superuser may do that for them" in sheet.content.decode()

    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "send_invitations", "_selected_action": chosen},
    )
    assert list(Invitation.objects.values_list("user__username", flat=True)) == ["pupil"]


def test_a_superuser_may_give_a_code_to_a_colleague():
    User.objects.create_superuser("root", password="pw")
    colleague = User.objects.create_user("colleague", password="pw", is_staff=True)
    client = Client()
    client.force_login(User.objects.get(username="root"))
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "print_codes", "_selected_action": [colleague.pk]},
    )
    assert response.status_code == 200
    assert SignInCode.objects.get().user == colleague


def test_an_admin_cannot_sign_out_a_superuser():
    root = User.objects.create_superuser("root", password="pw")
    root_client = Client()
    root_client.force_login(root)
    root_client.get(reverse("admin:index"))  # a web session of root's
    assert UserSession.objects.filter(user=root).exists()
    _clerk, client = _staff("clerk", "auth.change_user")
    for url, chosen in (
        (reverse("admin:auth_user_changelist"), [root.pk]),
        (
            reverse("admin:accounts_usersession_changelist"),
            list(UserSession.objects.filter(user=root).values_list("pk", flat=True)),
        ),
    ):
        action = "end_sessions" if "user/" in url else "end_selected"
        client.post(url, {"action": action, "_selected_action": chosen})
    assert UserSession.objects.filter(user=root).exists()
    assert root_client.get(reverse("admin:index")).status_code == 200


def test_an_admin_who_may_change_users_cannot_set_a_superusers_password():
    root = User.objects.create_superuser("root", password="pw")
    colleague = User.objects.create_user("colleague", password="pw", is_staff=True)
    _clerk, client = _staff("clerk", "auth.change_user", "auth.delete_user")
    for target in (root, colleague):
        url = reverse("admin:auth_user_password_change", args=[target.pk])
        assert client.get(url).status_code == 403
        response = client.post(
            url, {"password1": "Taken-Over-9876", "password2": "Taken-Over-9876"}
        )
        assert response.status_code == 403
        target.refresh_from_db()
        assert target.check_password("pw")
        change = client.post(
            reverse("admin:auth_user_change", args=[target.pk]),
            {"username": "renamed", "is_active": "", "date_joined_0": "2026-01-01"},
        )
        assert change.status_code == 403
        client.post(
            reverse("admin:auth_user_changelist"),
            {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"},
        )
        assert User.objects.filter(pk=target.pk, username=target.username).exists()


def test_an_admin_who_may_change_users_cannot_make_themselves_a_superuser():
    pupil = User.objects.create_user("pupil", password="pw")
    clerk, client = _staff("clerk", "auth.change_user")
    granted = {target: set(target.user_permissions.all()) for target in (clerk, pupil)}
    for target in (clerk, pupil):
        page = client.get(reverse("admin:auth_user_change", args=[target.pk]))
        assert 'name="is_superuser"' not in page.content.decode()
        client.post(
            reverse("admin:auth_user_change", args=[target.pk]),
            {
                "username": target.username,
                "is_active": "on",
                "is_staff": "on",
                "is_superuser": "on",
                "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
            },
        )
        target.refresh_from_db()
        assert not target.is_superuser
        assert target.is_staff == (target == clerk)
        assert set(target.user_permissions.all()) == granted[target]


def test_a_superuser_still_makes_staff_in_the_change_form():
    root = User.objects.create_superuser("root", password="pw")
    pupil = User.objects.create_user("pupil", password="pw")
    client = Client()
    client.force_login(root)
    response = client.post(
        reverse("admin:auth_user_change", args=[pupil.pk]),
        {
            "username": "pupil",
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.is_staff


def test_cleaning_up_expired_sign_in_attempts_deletes_only_the_expired_ones():
    def attempt(username: str, minutes_ago: int) -> AccessAttempt:
        made = AccessAttempt.objects.create(
            username=username,
            ip_address="10.0.0.1",
            user_agent="test",
            http_accept="*/*",
            path_info="/login/",
            failures_since_start=1,
        )
        # attempt_time is stamped on create; set back by hand.
        AccessAttempt.objects.filter(pk=made.pk).update(
            attempt_time=timezone.now() - timedelta(minutes=minutes_ago)
        )
        return made

    old = attempt("old", settings.LOGIN_COOLOFF_MINUTES + 5)
    fresh = attempt("fresh", 1)
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    response = client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "cleanup_expired_attempts", "_selected_action": [old.pk, fresh.pk]},
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["fresh"]
