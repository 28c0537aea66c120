"""A lecturer's decision on an excuse request: approve (the register says excused,
through the audit trail) or reject (the register stays as it is). Once only."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from attendance.models import AttendanceRecord
from attendance.registers import mark_attendance
from excuses import notices
from excuses.models import ExcuseRequest

State = ExcuseRequest.State
COMMENT_MAX = 1000


class DecisionRefused(ValueError):
    """A decision that cannot be made; the message says why, and nothing changed."""


def decide_excuse(
    *,
    excuse: ExcuseRequest,
    approve: bool,
    by: AbstractBaseUser,
    comment: str = "",
    now=None,
) -> ExcuseRequest:
    """Approve or reject `excuse`, then mail the student.

    The request row is locked and must still be pending, so two decisions at
    once (two lecturers, a double click) give one decision and one refusal.
    Approval marks the record excused with mark_attendance, whose audit row
    names the request; rejection needs a comment saying why. The caller has
    checked that `by` may decide for the course.
    """
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise DecisionRefused(f"Keep the comment to {COMMENT_MAX} characters.")
    if not approve and not comment:
        raise DecisionRefused("Say why the request is rejected; the student reads it.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            ExcuseRequest.objects.select_for_update(of=("self",))
            .select_related("record__session", "course", "student__user", "decided_by")
            .get(pk=excuse.pk)
        )
        if locked.state != State.PENDING:
            who = locked.decided_by.get_username() if locked.decided_by else "someone"
            raise DecisionRefused(
                f"This request was already {locked.get_state_display().lower()} by {who} "
                f"on {timezone.localtime(locked.decided_at):%d %b %Y %H:%M}; nothing changed."
            )
        if approve:
            reason = f"Excuse request #{locked.pk} approved"
            if comment:
                reason = f"{reason}: {comment}"
            mark_attendance(
                record=locked.record,
                status=AttendanceRecord.Status.EXCUSED,
                by=by,
                reason=reason[:500],
            )
        locked.state = State.APPROVED if approve else State.REJECTED
        locked.decided_at = now
        locked.decided_by = by if by is not None and by.is_authenticated else None
        locked.decision_comment = comment
        locked.save(update_fields=["state", "decided_at", "decided_by", "decision_comment"])
        notices.notify_student(locked)
    for name in ("state", "decided_at", "decided_by", "decision_comment"):
        setattr(excuse, name, getattr(locked, name))
    return excuse
