"""A student's request to excuse an absence or a late mark: the rules for asking."""

from datetime import date, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import AttendanceRecord, Student
from excuses import notices
from excuses.attachments import InvalidAttachment, check_attachment
from excuses.models import ExcuseRequest

Status = AttendanceRecord.Status
EXCUSABLE = (Status.ABSENT, Status.LATE)
REASON_MAX = 1000
ALREADY_PENDING = "A request for this register entry is already waiting for a decision."


class ExcuseRefused(ValueError):
    """A request that cannot be made; the message says why, and nothing was saved."""


def last_day(session_date: date) -> date:
    """The last day (inclusive) a request about a session of `session_date` is accepted."""
    return session_date + timedelta(days=settings.EXCUSE_WINDOW_DAYS)


def refusal(*, record: AttendanceRecord, today: date) -> str:
    """Why `record` cannot be excused today, or "" if it can (a pending request aside).

    The session and status come from `record` as read: the /me/ pages decide which
    rows offer the form with it, without a query.
    """
    session = record.session
    if session.is_active:
        return "The register is written when the session ends; ask after that."
    if record.status not in EXCUSABLE:
        return (
            f"Only an absence or a late mark can be excused; this register entry is "
            f"{record.get_status_display().lower()}."
        )
    if today > last_day(session.date):
        return (
            f"Requests about the session of {session.date:%d %b %Y} closed on "
            f"{last_day(session.date):%d %b %Y} ({settings.EXCUSE_WINDOW_DAYS} days after it); "
            "speak to your lecturer."
        )
    return ""


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ExcuseRefused("Give a reason for the request.")
    if len(reason) > REASON_MAX:
        raise ExcuseRefused(f"Keep the reason to {REASON_MAX} characters (it has {len(reason)}).")
    return reason


def submit_excuse(
    *,
    record: AttendanceRecord,
    student: Student,
    reason: str,
    attachment: UploadedFile | None = None,
    now=None,
) -> ExcuseRequest:
    """Ask to excuse `record`, `student`'s own register entry; mail the course's lecturers.

    Refused (ExcuseRefused, nothing saved) when the record is not the student's,
    not an absence or late mark of an ended session, the window has closed, the
    reason or file is unacceptable, or a request already waits for it. The record
    is locked while deciding, so a decision in progress is seen; the database's
    one-pending-per-record constraint is the last word.
    """
    if record.student_id != student.pk:
        raise ExcuseRefused("You can only ask to excuse your own register entries.")
    reason = _checked_reason(reason)
    checked = None
    if attachment is not None:
        try:
            checked = check_attachment(attachment)
        except InvalidAttachment as exc:
            raise ExcuseRefused(str(exc)) from None
    now = now or timezone.now()
    excuse = None
    try:
        with transaction.atomic():
            locked = (
                AttendanceRecord.objects.select_for_update(of=("self",))
                .select_related("session")
                .get(pk=record.pk)
            )
            why = refusal(record=locked, today=timezone.localdate(now))
            if why:
                raise ExcuseRefused(why)
            if ExcuseRequest.objects.filter(
                record=locked, state=ExcuseRequest.State.PENDING
            ).exists():
                raise ExcuseRefused(ALREADY_PENDING)
            excuse = ExcuseRequest(
                record=locked,
                student=student,
                course_id=locked.session.course_id,
                from_status=locked.status,
                reason=reason,
                submitted_at=now,
            )
            if checked is not None:
                excuse.attachment_name = checked.name
                excuse.attachment_type = checked.content_type
                excuse.attachment_size = checked.size
                excuse.attachment.save(f"a.{checked.extension}", checked.file, save=False)
            excuse.save()
            notices.notify_lecturers(excuse)
    except IntegrityError:
        _discard_file(excuse)
        raise ExcuseRefused(ALREADY_PENDING) from None
    except BaseException:
        _discard_file(excuse)
        raise
    return excuse


def _discard_file(excuse: ExcuseRequest | None) -> None:
    """A file stored for a request that was not saved goes too."""
    if excuse is not None and excuse.attachment:
        excuse.attachment.delete(save=False)
