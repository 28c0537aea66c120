"""Races PostgreSQL decides: two submissions at once, two decisions at once."""

import pytest

from attendance.models import AttendanceChange
from conftest import run_at_once
from excuses.decisions import DecisionRefused, decide_excuse
from excuses.models import ExcuseRequest
from excuses.submissions import ExcuseRefused, submit_excuse
from outbox.models import OutboundEmail

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_submissions_at_once_make_one_request_and_one_clear_refusal(ada_record, ada):
    results = run_at_once(
        2, lambda i: submit_excuse(record=ada_record, student=ada, reason=f"Try {i}")
    )
    made = [r for r in results if isinstance(r, ExcuseRequest)]
    refused = [r for r in results if isinstance(r, ExcuseRefused)]
    assert len(made) == 1 and len(refused) == 1, results
    assert "already waiting" in str(refused[0])
    assert ExcuseRequest.objects.filter(record=ada_record).count() == 1
    assert OutboundEmail.objects.filter(key__endswith=":submitted").count() == 1


def test_the_constraint_alone_decides_when_no_lock_is_taken(ada_record, ada, monkeypatch):
    """Without the record lock, both inserts race to the unique index; one loses cleanly."""
    from django.db.models.query import QuerySet

    monkeypatch.setattr(QuerySet, "select_for_update", lambda self, **kwargs: self)
    monkeypatch.setattr(
        "excuses.submissions.ExcuseRequest.objects.filter",
        lambda **kwargs: ExcuseRequest.objects.none(),
    )
    results = run_at_once(
        4, lambda i: submit_excuse(record=ada_record, student=ada, reason=f"Try {i}")
    )
    assert sum(isinstance(r, ExcuseRequest) for r in results) == 1, results
    assert sum(isinstance(r, ExcuseRefused) for r in results) == 3, results
    monkeypatch.undo()
    assert ExcuseRequest.objects.filter(record=ada_record, state="pending").count() == 1


def test_two_decisions_at_once_make_one_decision_and_one_refusal(
    ada_record, ada, lecturer, staff_user
):
    excuse = submit_excuse(record=ada_record, student=ada, reason="Flu")
    deciders = [
        lambda: decide_excuse(excuse=excuse, approve=True, by=lecturer),
        lambda: decide_excuse(excuse=excuse, approve=False, by=staff_user, comment="No"),
    ]
    results = run_at_once(2, lambda i: deciders[i]())
    refused = [r for r in results if isinstance(r, DecisionRefused)]
    assert len(refused) == 1 and "already" in str(refused[0]), results
    assert sum(isinstance(r, ExcuseRequest) for r in results) == 1, results
    excuse.refresh_from_db()
    ada_record.refresh_from_db()
    if excuse.state == "approved":
        assert ada_record.status == "excused"
        assert AttendanceChange.objects.filter(record=ada_record).count() == 1
    else:
        assert ada_record.status == "absent" and not AttendanceChange.objects.exists()
    assert OutboundEmail.objects.filter(key=f"excuse:{excuse.pk}:decided").count() == 1
