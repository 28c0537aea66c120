"""The timetable's actors: a term around a known Monday, and a meeting maker."""

import pytest

from payments.models import Term
from timetable.tests.builders import new_meeting, spring_term


@pytest.fixture
def term(db) -> Term:
    return spring_term()


@pytest.fixture
def make_meeting(term):
    def make(course, weekday=0, at=None, minutes=60, **kwargs):
        chosen = kwargs.pop("term", term)
        if at is not None:
            kwargs["at"] = at
        return new_meeting(course, chosen, weekday=weekday, minutes=minutes, **kwargs)

    return make
