"""Reads of excuse requests: who may see which, the lists, and what the /me/ pages ask."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet

from attendance.models import Course, Student
from excuses.models import ExcuseRequest

State = ExcuseRequest.State


def student_of(user: AbstractBaseUser) -> Student | None:
    """The roster entry a signed-in student's login belongs to, or None."""
    if not user.is_authenticated:
        return None
    return Student.objects.filter(user=user).first()


def may_review(user: AbstractBaseUser) -> bool:
    """Staff, or a lecturer of at least one course: those see a queue."""
    if not user.is_authenticated:
        return False
    return user.is_staff or Course.objects.filter(lecturers=user).exists()


def reviewable(user: AbstractBaseUser) -> QuerySet[ExcuseRequest]:
    """The requests `user` may see and decide: staff all, a lecturer their courses'."""
    if not user.is_authenticated:
        return ExcuseRequest.objects.none()
    if user.is_staff:
        return ExcuseRequest.objects.all()
    return ExcuseRequest.objects.filter(
        course__in=Course.objects.filter(lecturers=user).values("pk")
    )


def queue(user: AbstractBaseUser) -> QuerySet[ExcuseRequest]:
    """The review queue: waiting requests first, oldest first; then decided, latest first."""
    return (
        reviewable(user)
        .select_related("student", "course", "record__session")
        .order_by(F("decided_at").desc(nulls_first=True), "submitted_at", "id")
    )


def own(student: Student) -> QuerySet[ExcuseRequest]:
    """A student's requests, newest first."""
    return (
        ExcuseRequest.objects.filter(student=student)
        .select_related("course", "record__session")
        .order_by("-submitted_at", "-id")
    )


def attachment_readable(user: AbstractBaseUser) -> QuerySet[ExcuseRequest]:
    """The requests whose attachment `user` may download: the student's own, the
    course's lecturers', and staff's."""
    if not user.is_authenticated:
        return ExcuseRequest.objects.none()
    if user.is_staff:
        return ExcuseRequest.objects.all()
    return ExcuseRequest.objects.filter(
        Q(student__user=user) | Q(course__in=Course.objects.filter(lecturers=user).values("pk"))
    )


def pending_for(record) -> bool:
    """Whether a request about `record` waits for a decision."""
    return ExcuseRequest.objects.filter(record=record, state=State.PENDING).exists()


def states_by_record(*, student: Student, record_ids) -> dict[int, str]:
    """For the /me/ pages: each of these records' latest request state (one query),
    so a row can say "Excuse pending" or offer the form."""
    latest: dict[int, str] = {}
    rows = (
        ExcuseRequest.objects.filter(student=student, record_id__in=list(record_ids))
        .order_by("record_id", "submitted_at", "id")
        .values_list("record_id", "state")
    )
    for record_id, state in rows:
        latest[record_id] = state
    return latest
