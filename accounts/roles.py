"""The school's roles and where each lands after signing in.

Lecturers and Office are groups (migration 0002); a student is a login linked
to a Student record. Staff administer everything.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db.models import QuerySet
from django.urls import reverse

from attendance.models import Course, Student
from payments.permissions import FEES_OFFICE_GROUP, can_view_fees

LECTURERS_GROUP = "Lecturers"
OFFICE_GROUP = FEES_OFFICE_GROUP


def lecturers_group() -> Group:
    return Group.objects.get_or_create(name=LECTURERS_GROUP)[0]


def lecturer_choices() -> QuerySet:
    """Who a course's lecturer picker offers: active members of Lecturers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=LECTURERS_GROUP)
        .order_by("last_name", "first_name", "username")
    )


def is_lecturer(user: AbstractBaseUser) -> bool:
    return (
        user.groups.filter(name=LECTURERS_GROUP).exists()
        or Course.objects.filter(lecturers=user).exists()
    )


def home_url(user: AbstractBaseUser) -> str:
    """Each role's own home: lecturers and staff the dashboard, the office the student
    list, a student their own page (/me/), which links to the device page."""
    if user.is_staff or is_lecturer(user):
        return reverse("dashboard")
    if user.groups.filter(name=OFFICE_GROUP).exists() or can_view_fees(user):
        return reverse("payments:student-list")
    if Student.objects.filter(user=user).exists():
        return reverse("portal:me")
    return reverse("dashboard")


def may_act_for(actor: AbstractBaseUser, target: AbstractBaseUser) -> bool:
    """May `actor` give `target` a way in (a sign-in code, an invitation to set a
    password) or sign them out? Only a superuser may do it for a superuser or for
    staff: with a code for a more powerful account, an admin would become it."""
    return actor.is_superuser or not (target.is_superuser or target.is_staff)


# What makes an account staff or more, or gives it permissions one by one.
POWER_FIELDS = ("is_superuser", "is_staff", "user_permissions")


def may_grant_power(actor: AbstractBaseUser) -> bool:
    """May `actor` set the POWER_FIELDS of an account (their own included)? Only a
    superuser: an admin who may change users would otherwise make themselves one."""
    return actor.is_superuser
