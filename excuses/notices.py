"""The mail an excuse request causes, put in the outbox inside the change's transaction.

Keys are stable per request and event, so a retried submission or decision
never mails twice.
"""

from django.conf import settings
from django.urls import reverse

from excuses.models import ExcuseRequest
from outbox.mail import enqueue


def _link(name: str, *args) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse(name, args=args)}"


def _what(excuse: ExcuseRequest) -> str:
    session = excuse.record.session
    mark = "absence" if excuse.from_status == "absent" else "late mark"
    return f"{excuse.course.code} on {session.date:%a %d %b %Y} ({mark})"


def submitted_key(excuse: ExcuseRequest) -> str:
    return f"excuse:{excuse.pk}:submitted"


def decided_key(excuse: ExcuseRequest) -> str:
    return f"excuse:{excuse.pk}:decided"


def notify_lecturers(excuse: ExcuseRequest) -> bool:
    """Tell the course's lecturers (those with an address) that a request waits."""
    addresses = sorted(
        set(excuse.course.lecturers.exclude(email="").values_list("email", flat=True))
    )
    if not addresses:
        return False
    student = excuse.student
    return enqueue(
        key=submitted_key(excuse),
        to=addresses,
        subject=f"Excuse request from {student.first_name} {student.last_name}: {_what(excuse)}",
        text=(
            f"{student.first_name} {student.last_name} ({student.student_number}) asks to "
            f"excuse their {_what(excuse)}.\n\n"
            f"Reason:\n{excuse.reason}\n\n"
            f"{'An attachment is included.' if excuse.attachment else 'No attachment.'}\n\n"
            f"Approve or reject it: {_link('excuses:detail', excuse.pk)}\n"
        ),
    )


def student_address(excuse: ExcuseRequest) -> str:
    student = excuse.student
    if student.email:
        return student.email
    user = student.user
    return user.email if user is not None else ""


def notify_student(excuse: ExcuseRequest) -> bool:
    """Tell the student the outcome, if they have an address."""
    address = student_address(excuse)
    if not address:
        return False
    outcome = excuse.get_state_display().lower()
    comment = f"\n\nComment:\n{excuse.decision_comment}" if excuse.decision_comment else ""
    result = (
        "The register now shows you as excused."
        if excuse.state == ExcuseRequest.State.APPROVED
        else "The register is unchanged."
    )
    return enqueue(
        key=decided_key(excuse),
        to=[address],
        subject=f"Excuse request {outcome}: {_what(excuse)}",
        text=(
            f"Your request to excuse your {_what(excuse)} was {outcome}. {result}{comment}\n\n"
            f"Your requests: {_link('excuses:mine')}\n"
        ),
    )
