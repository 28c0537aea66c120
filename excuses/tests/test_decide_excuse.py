"""decide_excuse: approval excuses the register through its audit trail; rejection
leaves it; a request is decided once; the student is mailed the outcome."""

import pytest

from attendance.models import AttendanceChange
from excuses.decisions import DecisionRefused, decide_excuse
from excuses.models import ExcuseRequest
from excuses.submissions import submit_excuse
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def excuse(ada_record, ada):
    return submit_excuse(record=ada_record, student=ada, reason="Flu")


def test_approval_marks_the_record_excused_with_an_audit_row_naming_the_request(
    excuse, ada_record, lecturer
):
    decide_excuse(excuse=excuse, approve=True, by=lecturer, comment="Get well")
    ada_record.refresh_from_db()
    assert ada_record.status == "excused" and ada_record.source == "manual"
    change = AttendanceChange.objects.get(record=ada_record)
    assert (change.from_status, change.to_status) == ("absent", "excused")
    assert change.changed_by == lecturer
    assert change.reason == f"Excuse request #{excuse.pk} approved: Get well"
    excuse.refresh_from_db()
    assert excuse.state == "approved" and excuse.decided_by == lecturer
    assert excuse.decided_at is not None and excuse.decision_comment == "Get well"


def test_the_student_is_mailed_the_outcome_once(excuse, lecturer):
    decide_excuse(excuse=excuse, approve=True, by=lecturer)
    mail = OutboundEmail.objects.get(key=f"excuse:{excuse.pk}:decided")
    assert mail.to == ["ada@example.test"]
    assert "approved" in mail.subject and "excused" in mail.body_text
    assert "/me/excuses/" in mail.body_text


def test_without_a_roster_address_the_login_address_is_used(excuse, ada, lecturer):
    ada.email = ""
    ada.save(update_fields=["email"])
    decide_excuse(excuse=excuse, approve=False, by=lecturer, comment="No note")
    assert OutboundEmail.objects.get(key=f"excuse:{excuse.pk}:decided").to == [
        "ada.login@example.test"
    ]


def test_rejection_leaves_the_record_and_says_why(excuse, ada_record, lecturer):
    decide_excuse(excuse=excuse, approve=False, by=lecturer, comment="No evidence")
    ada_record.refresh_from_db()
    assert ada_record.status == "absent"
    assert not AttendanceChange.objects.exists()
    excuse.refresh_from_db()
    assert excuse.state == "rejected" and excuse.decision_comment == "No evidence"
    mail = OutboundEmail.objects.get(key=f"excuse:{excuse.pk}:decided")
    assert "rejected" in mail.subject and "No evidence" in mail.body_text


def test_a_rejection_needs_a_comment(excuse, lecturer):
    with pytest.raises(DecisionRefused, match="Say why"):
        decide_excuse(excuse=excuse, approve=False, by=lecturer, comment="  ")
    excuse.refresh_from_db()
    assert excuse.state == "pending"


@pytest.mark.parametrize("second", [True, False])
def test_deciding_twice_is_refused_and_changes_nothing(excuse, ada_record, lecturer, second):
    decide_excuse(excuse=excuse, approve=True, by=lecturer)
    stale = ExcuseRequest.objects.get(pk=excuse.pk)
    stale.state = "pending"  # a page loaded before the first decision
    with pytest.raises(DecisionRefused, match="already approved by lecturer"):
        decide_excuse(excuse=stale, approve=second, by=lecturer, comment="Again")
    excuse.refresh_from_db()
    assert excuse.state == "approved" and excuse.decision_comment == ""
    assert AttendanceChange.objects.count() == 1
    assert OutboundEmail.objects.filter(key__endswith=":decided").count() == 1


def test_after_a_rejection_the_student_may_ask_again(excuse, ada_record, ada, lecturer):
    decide_excuse(excuse=excuse, approve=False, by=lecturer, comment="Bring a note")
    again = submit_excuse(record=ada_record, student=ada, reason="Here is the note")
    assert again.pk != excuse.pk and again.state == "pending"
