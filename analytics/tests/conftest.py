"""Classes that have ended, with their registers written by end_session."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from attendance.sessions import end_session, start_session
from attendance.tests.builders import join


def ended_class(course, lecturer, start: datetime, arrivals: dict, *, scheduled=None):
    """A session opened at `start` whose students join `arrivals[student]` minutes after
    it (or after `scheduled`), ended an hour later."""
    session, _ = start_session(course=course, by=lecturer, now=start, scheduled_start=scheduled)
    base = scheduled or start
    for student, minutes in arrivals.items():
        join(session, student, base + timedelta(minutes=minutes))
    end_session(session=session, now=start + timedelta(hours=1))
    session.refresh_from_db()
    return session


@pytest.fixture(autouse=True)
def _web_sessions_in_the_database(settings):
    """Exact query counts: the web session is read from the database, whether or not
    REDIS_URL would put it in the cache (cached_db)."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


@pytest.fixture
def user_model():
    return get_user_model()
