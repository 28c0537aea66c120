"""Which links a signed-in user's navigation shows, decided once at sign-in.

A student signs in to check in with a phone: their bar offers the device
page, not the lecturers' dashboard and lists (which would only be empty
for them). The choice is kept in the web session, so no page pays a query
for it; every page still checks permissions itself.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from accounts.roles import OFFICE_GROUP, is_lecturer
from attendance.models import Course, Student

STUDENT_NAV = "student_nav"
OFFICE_NAV = "office_nav"


def uses_student_nav(user: AbstractBaseUser) -> bool:
    """A student's account that neither administers the site nor teaches a course."""
    if user.is_staff:
        return False
    return (
        Student.objects.filter(user=user).exists()
        and not Course.objects.filter(lecturers=user).exists()
    )


def uses_office_nav(user: AbstractBaseUser) -> bool:
    """The school office: keeps students and fees, teaches nothing, administers nothing.
    Its bar offers the student list and the at-risk list, not an empty dashboard."""
    if user.is_staff or is_lecturer(user):
        return False
    return user.groups.filter(name=OFFICE_GROUP).exists()


def remember_navigation(sender, request: HttpRequest, user: AbstractBaseUser, **kwargs) -> None:
    """user_logged_in: choose the navigation for this web session."""
    if request is not None and hasattr(request, "session"):
        request.session[STUDENT_NAV] = uses_student_nav(user)
        request.session[OFFICE_NAV] = uses_office_nav(user)
