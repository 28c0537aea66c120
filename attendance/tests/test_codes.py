"""Join codes: six digits, unique among active sessions, rotated once per interval."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance import codes
from attendance.models import NetworkSession
from attendance.sessions import start_session

pytestmark = pytest.mark.django_db


def _due(session, seconds=31):
    NetworkSession.objects.filter(pk=session.pk).update(
        code_rotated_at=timezone.now() - timedelta(seconds=seconds)
    )
    session.refresh_from_db()


def test_a_new_code_avoids_every_current_and_previous_code(course, monkeypatch):
    session, _ = start_session(course=course, by=None)
    NetworkSession.objects.filter(pk=session.pk).update(
        join_code="111111", previous_join_code="222222"
    )
    draws = iter(["111111", "222222", "333333"])
    monkeypatch.setattr(codes, "new_join_code", lambda: next(draws))
    assert codes.unused_join_code() == "333333"


def test_it_rotates_a_due_code_and_keeps_the_previous(course, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    session, _ = start_session(course=course, by=None)
    old = session.join_code
    _due(session)
    assert codes.rotate_due_codes() == 1
    session.refresh_from_db()
    assert session.previous_join_code == old
    assert session.join_code != old and len(session.join_code) == 6
    assert codes.session_for_code(old) == session
    assert codes.session_for_code(session.join_code) == session


def test_two_processes_rotating_at_once_rotate_only_once(course, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    session, _ = start_session(course=course, by=None)
    _due(session)
    # Both read the same row; only the first conditional UPDATE matches it.
    first, second = (
        NetworkSession.objects.get(pk=session.pk),
        NetworkSession.objects.get(pk=session.pk),
    )
    assert codes.rotate_code(session=first) is True
    assert codes.rotate_code(session=second) is False
    session.refresh_from_db()
    assert session.join_code == first.join_code
    assert session.previous_join_code == second.join_code


def test_a_code_not_yet_due_stays(course, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    session, _ = start_session(course=course, by=None)
    _due(session, seconds=10)
    assert codes.rotate_due_codes() == 0
    assert NetworkSession.objects.get(pk=session.pk).join_code == session.join_code


def test_zero_seconds_keeps_the_code_for_the_whole_session(course, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 0
    session, _ = start_session(course=course, by=None)
    _due(session, seconds=3600)
    assert codes.rotate_due_codes() == 0
    assert NetworkSession.objects.get(pk=session.pk).join_code == session.join_code
    assert codes.expires_at(session) is None


def test_a_current_code_wins_over_someone_elses_previous_code(course, other_course):
    mine, _ = start_session(course=course, by=None)
    theirs, _ = start_session(course=other_course, by=None)
    NetworkSession.objects.filter(pk=theirs.pk).update(previous_join_code=mine.join_code)
    assert codes.session_for_code(mine.join_code) == mine


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "١٢٣٤٥٦", None, 123456])
def test_a_malformed_code_matches_nothing(course, code):
    start_session(course=course, by=None)
    assert codes.session_for_code(code) is None
