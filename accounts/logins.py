"""Logins for people already on the roster (made before imports gave them one)."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.invitations import invite_users
from attendance.models import Student


@dataclass(frozen=True)
class LoginsResult:
    created: int
    invited: int
    skipped: list[str]  # student numbers whose name is another person's login


def give_students_logins(
    *, students: list[Student], by: AbstractBaseUser | None, base_url: str
) -> LoginsResult:
    """A login named by the student number for each student without one, and an
    invitation for those with an email."""
    User = get_user_model()
    with transaction.atomic():
        # Locked and read again: two runs at once (two admins, a double click)
        # would both find the same students without a login and make it twice.
        without = list(
            Student.objects.select_for_update()
            .filter(pk__in=[s.pk for s in students], user__isnull=True)
            .order_by("pk")
        )
        numbers = [s.student_number for s in without]
        taken = set(User.objects.filter(username__in=numbers).values_list("username", flat=True))
        todo = [s for s in without if s.student_number not in taken]
        users = User.objects.bulk_create(
            [
                User(
                    username=s.student_number,
                    first_name=s.first_name,
                    last_name=s.last_name,
                    email=s.email,
                    password=make_password(None),
                )
                for s in todo
            ]
        )
        for student, user in zip(todo, users, strict=True):
            student.user = user
        Student.objects.bulk_update(todo, ["user"])
        sent = invite_users(users=users, by=by, base_url=base_url)
    return LoginsResult(created=len(users), invited=len(sent), skipped=sorted(taken))
