"""submit_excuse: who may ask, about what, until when, with which file."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session
from excuses.models import ExcuseRequest
from excuses.submissions import ExcuseRefused, submit_excuse
from excuses.tests.conftest import JPEG, PDF, PNG, upload
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db


def test_a_student_asks_to_excuse_an_absence_and_the_lecturers_are_mailed(ada_record, ada):
    excuse = submit_excuse(record=ada_record, student=ada, reason="  Flu, with a fever.  ")
    excuse.refresh_from_db()
    assert excuse.state == "pending" and excuse.reason == "Flu, with a fever."
    assert excuse.from_status == "absent" and excuse.course_id == ada_record.session.course_id
    mail = OutboundEmail.objects.get(key=f"excuse:{excuse.pk}:submitted")
    assert mail.to == ["lecturer@example.test"]
    assert "Ada Lovelace" in mail.subject and "Flu, with a fever." in mail.body_text
    assert f"/excuses/{excuse.pk}/" in mail.body_text


def test_a_late_mark_may_be_excused_too(ada_record, ada):
    AttendanceRecord.objects.filter(pk=ada_record.pk).update(status="late")
    ada_record.refresh_from_db()
    assert submit_excuse(record=ada_record, student=ada, reason="Bus").from_status == "late"


@pytest.mark.parametrize("status", ["present", "excused"])
def test_a_present_or_excused_entry_is_refused(ada_record, ada, status):
    AttendanceRecord.objects.filter(pk=ada_record.pk).update(status=status)
    with pytest.raises(ExcuseRefused, match="Only an absence or a late mark"):
        submit_excuse(record=ada_record, student=ada, reason="Why not")
    assert not ExcuseRequest.objects.exists()


def test_another_students_entry_is_refused(bob_record, ada):
    with pytest.raises(ExcuseRefused, match="your own"):
        submit_excuse(record=bob_record, student=ada, reason="For Bob")
    assert not ExcuseRequest.objects.exists()


def test_a_running_session_is_refused(course, ada, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    record = AttendanceRecord.objects.create(
        session=session,
        student=ada,
        status="absent",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    with pytest.raises(ExcuseRefused, match="when the session ends"):
        submit_excuse(record=record, student=ada, reason="Early")


@pytest.mark.parametrize(
    ("reason", "message"), [("   ", "Give a reason"), ("x" * 1001, "1000 characters")]
)
def test_an_empty_or_long_reason_is_refused(ada_record, ada, reason, message):
    with pytest.raises(ExcuseRefused, match=message):
        submit_excuse(record=ada_record, student=ada, reason=reason)
    assert not ExcuseRequest.objects.exists()


def test_the_last_day_of_the_window_is_accepted_and_the_next_refused(ada_record, ada, settings):
    settings.EXCUSE_WINDOW_DAYS = 14
    session_date = timezone.localdate() - timedelta(days=14)
    NetworkSession.objects.filter(pk=ada_record.session_id).update(date=session_date)
    ada_record.refresh_from_db()
    excuse = submit_excuse(record=ada_record, student=ada, reason="On the last day")
    assert excuse.pk is not None
    ExcuseRequest.objects.all().delete()

    NetworkSession.objects.filter(pk=ada_record.session_id).update(
        date=session_date - timedelta(days=1)
    )
    ada_record.refresh_from_db()
    with pytest.raises(ExcuseRefused, match=r"closed on .* \(14 days after it\)"):
        submit_excuse(record=ada_record, student=ada, reason="A day late")
    assert not ExcuseRequest.objects.exists()


def test_the_window_follows_the_setting(ada_record, ada, settings):
    settings.EXCUSE_WINDOW_DAYS = 0
    NetworkSession.objects.filter(pk=ada_record.session_id).update(
        date=timezone.localdate() - timedelta(days=1)
    )
    ada_record.refresh_from_db()
    with pytest.raises(ExcuseRefused, match="closed"):
        submit_excuse(record=ada_record, student=ada, reason="Yesterday")


def test_a_second_request_while_one_waits_is_refused(ada_record, ada):
    submit_excuse(record=ada_record, student=ada, reason="First")
    with pytest.raises(ExcuseRefused, match="already waiting"):
        submit_excuse(record=ada_record, student=ada, reason="Second")
    assert ExcuseRequest.objects.count() == 1


def test_the_database_refuses_a_second_pending_request_by_itself(ada_record, ada):
    first = submit_excuse(record=ada_record, student=ada, reason="First")
    twin = ExcuseRequest(
        record=ada_record,
        student=ada,
        course_id=first.course_id,
        from_status="absent",
        reason="Twin",
        submitted_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    # A decided request no longer counts: the record may be asked about again.
    ExcuseRequest.objects.filter(pk=first.pk).update(state="rejected", decided_at=timezone.now())
    twin.save()
    assert ExcuseRequest.objects.filter(state="pending").count() == 1


def test_a_pending_request_cannot_carry_a_decision_time(ada_record, ada):
    excuse = submit_excuse(record=ada_record, student=ada, reason="First")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExcuseRequest.objects.filter(pk=excuse.pk).update(decided_at=timezone.now())


@pytest.mark.parametrize(
    ("content", "name", "kind", "extension"),
    [
        (PDF, "doctor's note (1).PDF", "application/pdf", "pdf"),
        (PNG, "photo.png", "image/png", "png"),
        (JPEG, "scan.jpeg", "image/jpeg", "jpg"),
        # The content decides, not the name: a PNG called .pdf is stored as a PNG.
        (PNG, "really-a-png.pdf", "image/png", "png"),
    ],
)
def test_pdf_jpeg_and_png_are_kept_by_their_content(
    ada_record, ada, content, name, kind, extension, settings
):
    excuse = submit_excuse(
        record=ada_record, student=ada, reason="See file", attachment=upload(content, name)
    )
    excuse.refresh_from_db()
    assert excuse.attachment_type == kind and excuse.attachment_size == len(content)
    assert excuse.attachment_name.endswith(f".{extension}")
    assert "'" not in excuse.attachment_name and " " not in excuse.attachment_name
    assert excuse.attachment.name.startswith("excuses/")
    with excuse.attachment.open("rb") as stored:
        assert stored.read() == content
    assert str(settings.MEDIA_ROOT) in excuse.attachment.path


def test_a_wrong_file_named_pdf_is_refused_whatever_the_browser_says(ada_record, ada, settings):
    disguised = upload(b"MZ\x90\x00 an executable", "note.pdf", "application/pdf")
    with pytest.raises(ExcuseRefused, match=r"PDF, JPEG or PNG.*whatever its name"):
        submit_excuse(record=ada_record, student=ada, reason="See file", attachment=disguised)
    assert not ExcuseRequest.objects.exists()
    assert not (settings.MEDIA_ROOT / "excuses").exists()


def test_a_file_over_five_megabytes_is_refused(ada_record, ada, settings):
    big = upload(PDF + b"0" * (5 * 1024 * 1024), "big.pdf")
    with pytest.raises(ExcuseRefused, match="at most 5 MB"):
        submit_excuse(record=ada_record, student=ada, reason="Big", attachment=big)
    assert not ExcuseRequest.objects.exists()


def test_exactly_five_megabytes_is_accepted(ada_record, ada):
    exact = upload(PDF + b"0" * (5 * 1024 * 1024 - len(PDF)), "exact.pdf")
    excuse = submit_excuse(record=ada_record, student=ada, reason="Exact", attachment=exact)
    assert excuse.attachment_size == 5 * 1024 * 1024


def test_no_lecturer_address_means_no_mail_but_the_request_stands(ada_record, ada, lecturer):
    lecturer.email = ""
    lecturer.save(update_fields=["email"])
    excuse = submit_excuse(record=ada_record, student=ada, reason="Quiet")
    assert excuse.pk and not OutboundEmail.objects.exists()
