"""Property-based fuzzing of the live schema: no 5xx, and every answer matches the schema.

Schemathesis reads /api/schema/ from the WSGI app, generates requests for every
operation (valid ones, and invalid ones that the API must refuse with a
declared 4xx), and sends them with a staff token, then a lecturer's, against
seeded data. Ids are steered towards the seeded rows so the success paths run,
not only the 404s.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from attendance.devices import register_device
from attendance.models import ConnectedDevice
from attendance.sessions import end_session, start_session
from attendance.tokens import create_api_token
from payments import ledger

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    # A success with the token is replayed without it and with a wrong one: both must fail.
    ignored_auth,
]


# Loaded at collection: building the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
schema.config.generation.update(
    modes=["positive", "negative"], with_security_parameters=False, database="none"
)


@pytest.fixture
def keep_test_connection():
    """What Django's test client does around each request: the WSGI handler would
    otherwise close the test's database connection (and its transaction) after each call."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(course, other_course, students, lecturer, make_students, billed_term):
    """Past and live sessions with registers, devices, a billed term with payments."""
    make_students(3, course=other_course, prefix="H")
    past, _ = start_session(course=course, by=lecturer, now=timezone.now() - timedelta(days=1))
    device, _ = register_device(student=students[0], name="phone")
    ConnectedDevice.objects.create(
        session=past, device=device, connected_at=past.started_at, last_seen_at=past.started_at
    )
    end_session(session=past, by=lecturer)
    live, _ = start_session(course=course, by=lecturer)
    spare, _ = register_device(student=students[1], name="tablet")
    paid = [
        ledger.record_payment(
            student=student, term=billed_term, amount="50.00", method="cash", by=None
        ).payment
        for student in students[:3]
    ]
    return {
        "payment_id": [payment.pk for payment in paid],
        "term_id": [billed_term.pk],
        "course_id": [course.pk, other_course.pk],
        "session_id": [past.pk, live.pk],
        "student_id": [student.pk for student in students],
        "device_id": [str(device.public_id), str(spare.public_id)],
    }


def _steer(values: dict, ids: dict) -> None:
    """Point most generated ids at seeded rows; leave some as generated (unknown ids)."""
    for name, value in list(values.items()):
        known = ids.get(name)
        if known and isinstance(value, int) and not isinstance(value, bool) and value % 4:
            values[name] = known[value % len(known)]
        elif known and name == "device_id" and isinstance(value, str) and len(value) % 2:
            values[name] = known[len(value) % len(known)]


FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _call(case, user, seeded: dict) -> None:
    _token, key = create_api_token(user=user, name="fuzz")
    for values in (case.path_parameters, case.query, case.body):
        if isinstance(values, dict):
            _steer(values, seeded)
    case.call_and_validate(headers={"Authorization": f"Token {key}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_the_api_holds_to_its_schema_for_staff(case, seeded, staff_user, keep_test_connection):
    _call(case, staff_user, seeded)


# A lecturer meets the 403s: another lecturer's course, devices, payments.
@schema.parametrize()
@FUZZ
def test_the_api_holds_to_its_schema_for_a_lecturer(case, seeded, lecturer, keep_test_connection):
    _call(case, lecturer, seeded)
