"""Two requests at once against each new invariant, on PostgreSQL: the database decides."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.codes import CodeBusy, issue_sign_in_codes, redeem_sign_in_code
from accounts.forms import RESET_EMAIL_WINDOW_SECONDS
from accounts.imports.run import ImportConflict, import_school
from accounts.invitations import InvitationError, accept_invitation, invite_users
from accounts.logins import give_students_logins
from accounts.models import Invitation, SignInCode, UserSession
from accounts.tests.files import csv_bytes
from attendance.models import Course, Enrollment, Student
from conftest import run_at_once
from payments.models import Payment
from payments.tests.builders import current_term

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def grace(db):
    return get_user_model().objects.create(
        username="grace", email="grace@example.com", password=make_password(None)
    )


def test_two_imports_of_the_same_new_students_make_one_of_each():
    data = csv_bytes(
        "student_number,first_name,last_name,email",
        *[f"S{i},First{i},Last{i},s{i}@example.com" for i in range(200)],
    )

    def work(_):
        return import_school(kind="students", data=data, filename="s.csv", dry_run=False)

    results = run_at_once(2, work)
    assert all(isinstance(r, ImportConflict) or r.ok for r in results), results
    assert any(not isinstance(r, Exception) and r.applied for r in results)
    assert Student.objects.count() == 200
    assert get_user_model().objects.count() == 200
    assert Invitation.objects.count() == 200


def _new_students(n: int) -> list[Student]:
    return Student.objects.bulk_create(
        Student(student_number=f"N{i:05d}", first_name="F", last_name="L") for i in range(n)
    )


def _students_file() -> tuple[str, list[str]]:
    header = "student_number,first_name,last_name,email"
    return header, [f"S{i:05d},First{i},Last{i},s{i}@example.com" for i in range(2000)]


def _enrollments_file() -> tuple[str, list[str]]:
    students = _new_students(300)
    codes = [Course.objects.create(code=f"C{i}", title=f"Course {i}").code for i in range(20)]
    return "student_number,course_code", [
        f"{s.student_number},{code}" for s in students for code in codes
    ]


def _payments_file() -> tuple[str, list[str]]:
    current_term("Term", fee="100")
    paid_on = timezone.localdate() - timedelta(days=1)
    return "student_number,amount,method,reference,paid_on", [
        f"{s.student_number},10.00,cash,R{i},{paid_on}" for i, s in enumerate(_new_students(60))
    ]


IMPORTED = {
    "students": (_students_file, lambda: Student.objects.count()),
    "enrollments": (_enrollments_file, lambda: Enrollment.objects.count()),
    "payments": (_payments_file, lambda: Payment.objects.count()),
}


@pytest.mark.parametrize("kind", IMPORTED)
def test_two_imports_of_the_same_new_rows_in_opposite_order_take_turns(kind):
    """Both write the rows in one order, so the second waits for the first instead of
    deadlocking; it then finds them written (unchanged) or is refused by the unique
    constraint (a conflict). Either way each row is new in exactly one report."""
    make_file, count = IMPORTED[kind]
    header, lines = make_file()
    files = [csv_bytes(header, *lines), csv_bytes(header, *reversed(lines))]

    def work(i):
        return import_school(kind=kind, data=files[i], filename="f.csv", dry_run=False)

    results = run_at_once(2, work)
    conflicts = [r for r in results if isinstance(r, ImportConflict)]
    applied = [r for r in results if not isinstance(r, Exception) and r.applied]
    assert len(conflicts) + len(applied) == 2, results
    assert all(isinstance(c.__cause__, IntegrityError) for c in conflicts), conflicts
    assert count() == len(lines)
    assert sum(r.counts["new"] for r in applied) == len(lines)


def test_two_code_sheets_at_once_leave_one_open_code_per_person(grace):
    results = run_at_once(2, lambda _: issue_sign_in_codes(users=[grace], by=None))
    assert all(isinstance(r, (list, CodeBusy)) for r in results), results
    assert SignInCode.objects.filter(used_at=None, revoked_at=None).count() == 1


def test_one_code_used_twice_at_once_signs_in_once(grace):
    [printed] = issue_sign_in_codes(users=[grace], by=None)
    results = run_at_once(2, lambda _: redeem_sign_in_code(user=grace, code=printed.code))
    assert sorted(results) == [False, True]


def test_invitations_at_once_take_turns_and_leave_one_open(grace):
    results = run_at_once(4, lambda _: invite_users(users=[grace], by=None, base_url="http://x/"))
    assert all(isinstance(r, list) and len(r) == 1 for r in results), results
    assert Invitation.objects.filter(accepted_at=None, revoked_at=None).count() == 1
    # Each call revoked the one before it: every link but the last one stopped working.
    assert Invitation.objects.count() == 4


def test_logins_given_twice_at_once_make_one_login_per_student(course):
    students = [
        Student.objects.create(
            student_number=f"R{i}", first_name="F", last_name="L", email=f"r{i}@example.com"
        )
        for i in range(3)
    ]
    results = run_at_once(
        4,
        lambda _: give_students_logins(
            students=list(Student.objects.filter(pk__in=[s.pk for s in students])),
            by=None,
            base_url="http://x/",
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.created for r in results) == 3
    assert get_user_model().objects.filter(username__startswith="R").count() == 3
    assert Invitation.objects.count() == 3
    assert not Student.objects.filter(pk__in=[s.pk for s in students], user=None).exists()


def test_one_invitation_accepted_twice_at_once_sets_the_password_once(grace):
    [sent] = invite_users(users=[grace], by=None, base_url="http://x/")
    results = run_at_once(
        2, lambda i: accept_invitation(token=sent.token, password=f"long-password-{i}")
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, InvitationError) for r in results if r not in winners)


def test_one_password_reset_link_sent_four_times_at_once_sets_one_password(grace):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(grace.pk))
    link = reverse(
        "accounts:password-reset-confirm",
        kwargs={"uidb64": uid, "token": default_token_generator.make_token(grace)},
    )
    clients = [Client() for _ in range(4)]
    # Each browser opens the link: the token moves into its session.
    forms = [c.get(link, follow=True).redirect_chain[-1][0] for c in clients]

    def submit(i):
        password = f"correct-horse-{i}-42"
        data = {"new_password1": password, "new_password2": password}
        return clients[i].post(forms[i], data).status_code

    results = run_at_once(4, submit)
    assert sorted(results) == [200, 200, 200, 302], results
    grace.refresh_from_db()
    winner = results.index(302)
    assert grace.check_password(f"correct-horse-{winner}-42")


def test_one_session_changing_its_password_in_two_tabs_at_once_changes_it_once(lecturer):
    """Both tabs send the session's cookie: the second is told its old password is
    wrong now, and the session that survives is listed, so "Sign out everywhere"
    reaches it."""
    url = reverse("accounts:password-change")
    # Several rounds: one round meets in the bad order only now and then.
    for _round in range(5):
        lecturer.set_password("pw")
        lecturer.save()
        signed_in = Client()
        signed_in.post(reverse("login"), {"username": "lecturer", "password": "pw"})
        tabs = [Client(), Client()]
        for tab in tabs:
            tab.cookies = signed_in.cookies
        ready = threading.Barrier(2, timeout=10)

        def change(i, tabs=tabs, ready=ready):
            connection.ensure_connection()
            ready.wait()
            new = f"tab-{i}-password-42"
            return tabs[i].post(
                url, {"old_password": "pw", "new_password1": new, "new_password2": new}
            )

        results = run_at_once(2, change)
        assert not any(isinstance(r, Exception) for r in results), results
        outcomes = [_password_change_outcome(r) for r in results]
        # A tab that started after the other's change finds its session ended: fine too.
        assert sorted(outcomes) in (["changed", "refused"], ["changed", "signed out"]), results
        winner = outcomes.index("changed")
        lecturer.refresh_from_db()
        assert lecturer.check_password(f"tab-{winner}-password-42")
        kept = results[winner].cookies[settings.SESSION_COOKIE_NAME].value
        assert list(UserSession.objects.values_list("session_key", flat=True)) == [kept]


def _password_change_outcome(response) -> str:
    if response.status_code == 302 and response.url == reverse("accounts:sessions"):
        return "changed"
    if response.status_code == 302 and response.url.startswith(reverse("login")):
        return "signed out"
    if "Your old password was entered incorrectly" in response.content.decode():
        return "refused"
    return repr(response)


def test_four_reset_requests_at_once_queue_one_email(grace):
    from outbox.models import OutboundEmail

    def ask(_i):
        return Client().post(reverse("accounts:password-reset"), {"email": grace.email}).status_code

    # In the middle of a window (accounts/forms.py), so that all four fall in one.
    window = RESET_EMAIL_WINDOW_SECONDS
    middle = (timezone.now().timestamp() // window) * window + window / 2
    with time_machine.travel(middle):
        assert run_at_once(4, ask) == [302] * 4
    assert OutboundEmail.objects.filter(subject__contains="Reset").count() == 1
