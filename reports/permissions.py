"""Who may read attendance reports.

Staff and the office see every course; a lecturer the courses they teach; a
student their own report. Anyone else gets a 404 for a student or course
(ids do not leak) and a 403 for the school-wide list.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from attendance.models import Course, Student
from payments.permissions import FEES_OFFICE_GROUP

LECTURERS_GROUP = "Lecturers"


def _signed_in(user: AbstractBaseUser | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def sees_every_course(user: AbstractBaseUser | None) -> bool:
    """Staff, or a member of the office (one query for the office)."""
    if not _signed_in(user):
        return False
    return user.is_staff or user.groups.filter(name=FEES_OFFICE_GROUP).exists()


def reportable_courses(user: AbstractBaseUser | None) -> QuerySet[Course]:
    """The courses whose reports and at-risk lists `user` may read."""
    if not _signed_in(user):
        return Course.objects.none()
    if sees_every_course(user):
        return Course.objects.all()
    return Course.objects.filter(lecturers=user)


EVERY_COURSE, OWN_COURSES = "every course", "own courses"


def school_list_scope(user: AbstractBaseUser | None) -> str | None:
    """The school-wide at-risk list: EVERY_COURSE for staff and the office, OWN_COURSES
    for a lecturer (teaching a course or in the Lecturers group), None for anyone else."""
    if not _signed_in(user):
        return None
    if sees_every_course(user):
        return EVERY_COURSE
    if (
        Course.objects.filter(lecturers=user).exists()
        or user.groups.filter(name=LECTURERS_GROUP).exists()
    ):
        return OWN_COURSES
    return None


def student_report_courses(user: AbstractBaseUser | None, student: Student) -> QuerySet[Course]:
    """The student's courses (enrolled, or with a standing) that `user` may see in their
    report; empty when `user` may see none of them."""
    if not _signed_in(user):
        return Course.objects.none()
    theirs = Course.objects.filter(
        Q(pk__in=student.enrollments.values("course_id"))
        | Q(pk__in=student.standings.values("course_id"))
    )
    if student.user_id == user.pk or sees_every_course(user):
        return theirs
    return theirs.filter(lecturers=user)


def may_see_student(user: AbstractBaseUser | None, student: Student) -> bool:
    """Whether the report exists for `user` at all: the student themselves, staff and
    the office; a lecturer only if they teach the student."""
    if not _signed_in(user):
        return False
    if student.user_id == user.pk or sees_every_course(user):
        return True
    return student_report_courses(user, student).exists()
