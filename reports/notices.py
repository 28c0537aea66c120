"""The mail an attendance warning sends: one to each student who fell below, one
digest to the course's lecturers. Enqueued in the outbox inside the register's
transaction, so no mail leaves for a change that rolled back.

Keys: `attendance-warning:<warning id>` for a student, and
`attendance-warning-digest:<first warning id>` for the digest (a warning
belongs to one digest, so its first id names it). One outbox statement for all.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse

from attendance.models import Course, Student
from outbox.mail import OutgoingMail, enqueue_many
from reports.models import AttendanceWarning, Standing


def student_address(student: Student) -> str:
    """The student's own address, else their login's; "" when there is none."""
    if student.email:
        return student.email
    user = student.user if student.user_id else None
    return user.email if user is not None else ""


def _link(path: str) -> str:
    base = getattr(settings, "PUBLIC_URL", "")
    return f"{base}{path}" if base else ""


def warning_mail(*, warning: AttendanceWarning, standing: Standing) -> OutgoingMail | None:
    address = student_address(standing.student)
    if not address:
        return None
    context = {
        "student": standing.student,
        "course": warning.course,
        "standing": standing,
        "warning": warning,
        "link": _link(reverse("reports:student-attendance", args=[standing.student_id])),
    }
    return OutgoingMail(
        key=f"attendance-warning:{warning.pk}",
        to=[address],
        subject=f"Your attendance in {warning.course.code} is below "
        f"{warning.course.warn_below_percent}%",
        text=render_to_string("reports/email/warning.txt", context),
        html=render_to_string("reports/email/warning.html", context),
    )


def digest_mail(
    *, course: Course, warnings: list[AttendanceWarning], standings: list[Standing]
) -> OutgoingMail | None:
    addresses = list(
        get_user_model()
        .objects.filter(courses_taught=course, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    if not addresses or not warnings:
        return None
    context = {
        "course": course,
        "rows": sorted(
            zip(warnings, standings, strict=True),
            key=lambda pair: (pair[1].rate, pair[1].student.last_name, pair[1].student_id),
        ),
        "link": _link(reverse("reports:course-at-risk", args=[course.pk])),
    }
    count = len(warnings)
    return OutgoingMail(
        key=f"attendance-warning-digest:{min(w.pk for w in warnings)}",
        to=addresses,
        subject=f"{course.code}: {count} student{'s' if count != 1 else ''} fell below "
        f"{course.warn_below_percent}% attendance",
        text=render_to_string("reports/email/digest.txt", context),
        html=render_to_string("reports/email/digest.html", context),
    )


def enqueue_warnings(
    *, course: Course, warnings: list[AttendanceWarning], standings: list[Standing]
) -> None:
    """Each student's warning and the lecturers' digest, in one outbox statement."""
    mails = [
        mail
        for warning, standing in zip(warnings, standings, strict=True)
        if (mail := warning_mail(warning=warning, standing=standing)) is not None
    ]
    digest = digest_mail(course=course, warnings=warnings, standings=standings)
    if digest is not None:
        mails.append(digest)
    if mails:
        enqueue_many(mails)
