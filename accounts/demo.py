"""The demo's roles: whoever teaches a demo course is in the Lecturers group, so the
course admin's lecturer picker offers them."""

from django.contrib.auth import get_user_model

from accounts.roles import lecturers_group


def seed_roles(*, stdout=None) -> None:
    teachers = get_user_model().objects.filter(courses_taught__isnull=False).distinct()
    lecturers_group().user_set.add(*teachers)
