import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from payments.models import Payment

URL = "/api/payments/"


@pytest.fixture
def body(students, billed_term):
    return {"student_id": students[0].pk, "amount": "80.00", "method": "cash"}


def test_it_records_a_payment_for_the_active_term(client_for, body, students, billed_term):
    response = client_for("office").post(URL, body, format="json")
    assert response.status_code == 201
    data = response.json()
    payment = Payment.objects.get()
    assert data["id"] == payment.pk
    assert (data["student"], data["term"], data["amount"]) == (
        students[0].student_number,
        billed_term.pk,
        "80.00",
    )
    # The example from the old system: fee 120.00, paid 80.00.
    assert (data["balance"], data["status"], data["voided"]) == ("40.00", "PARTIAL", False)
    assert data["reference"] == payment.reference and payment.reference
    assert payment.recorded_by.username == "office"


def test_a_repeated_idempotency_key_returns_the_first_payment(client_for, body):
    body["idempotency_key"] = str(uuid.uuid4())
    client = client_for("office")
    first = client.post(URL, body, format="json")
    second = client.post(URL, body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"amount": "70.00"}, "amount"),
        ({"method": "card"}, "method"),
        ({"reference": "OTHER-1"}, "reference"),
        ({"note": "Another"}, "note"),
        ({"received_at": "2026-01-05T10:00:00Z"}, "received_at"),
    ],
)
def test_a_key_used_again_for_another_payment_is_refused(client_for, body, change, named):
    # It once answered with the first payment: the client thought its second was
    # recorded.
    body["idempotency_key"] = str(uuid.uuid4())
    client = client_for("office")
    assert client.post(URL, body, format="json").status_code == 201
    response = client.post(URL, {**body, **change}, format="json")
    assert_error(response, 400, "key_reused")
    assert f"another {named};" in response.json()["detail"]
    assert Payment.objects.count() == 1


def test_a_used_reference_is_a_409(client_for, body):
    client = client_for("office")
    assert client.post(URL, {**body, "reference": "R-1"}, format="json").status_code == 201
    response = client.post(URL, {**body, "reference": "R-1"}, format="json")
    assert_error(response, 409, "duplicate_reference")
    assert Payment.objects.count() == 1


def test_without_an_active_term_it_is_a_409(client_for, students):
    response = client_for("office").post(
        URL, {"student_id": students[0].pk, "amount": "5.00", "method": "cash"}, format="json"
    )
    assert_error(response, 409, "no_active_term")
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": "0"}, "invalid_amount"),
        ({"amount": "-5.00"}, "invalid_amount"),
        ({"amount": "1.005"}, "invalid"),
        ({"amount": "lots"}, "invalid"),
        ({"amount": "1_000"}, "invalid"),
        ({"amount": "1e3"}, "invalid"),
        ({"amount": "\u0661\u0660"}, "invalid"),
        ({"method": "barter"}, "invalid"),
        ({"received_at": "tomorrow"}, "invalid"),
        ({"student_id": "1"}, "invalid"),
        ({"tip": "1.00"}, "invalid"),
        ({"idempotency_key": 5}, "invalid"),
        ({"idempotency_key": "not-a-uuid"}, "invalid"),
    ],
)
def test_it_rejects_bad_input(client_for, body, change, code):
    assert_error(client_for("office").post(URL, {**body, **change}, format="json"), 400, code)
    assert not Payment.objects.exists()


def test_a_payment_in_the_future_is_refused(client_for, body):
    future = (timezone.now() + timedelta(days=2)).isoformat()
    response = client_for("office").post(URL, {**body, "received_at": future}, format="json")
    assert_error(response, 400, "future_payment")
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("received_at", "code"),
    [
        ("1899-12-31T23:59:59Z", "invalid_date"),
        ("0001-01-01T00:00:00Z", "invalid_date"),
        # Before year 1 in UTC: the serializer cannot even read it.
        ("0001-01-01T00:00:00+09:00", "invalid"),
    ],
)
def test_a_payment_before_1900_is_refused(client_for, body, received_at, code):
    response = client_for("office").post(URL, {**body, "received_at": received_at}, format="json")
    assert_error(response, 400, code)
    assert not Payment.objects.exists()


def test_unknown_student_or_term_is_a_404(client_for, body, billed_term):
    client = client_for("office")
    response = client.post(URL, {**body, "student_id": 10**9}, format="json")
    assert_error(response, 404, "not_found")
    response = client.post(URL, {**body, "term_id": billed_term.pk + 100}, format="json")
    assert_error(response, 404, "not_found")
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("office", 201),
        ("staff", 201),
        ("lecturer", 403),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, body, actor, status):
    response = client_for(actor).post(URL, body, format="json")
    if status == 201:
        assert response.status_code == 201
        assert Payment.objects.count() == 1
    else:
        assert_error(response, status)
        assert not Payment.objects.exists()


def test_a_payment_past_what_the_terms_total_can_hold_is_a_400(client_for, body):
    client = client_for("office")
    assert client.post(URL, {**body, "amount": "9999999999.99"}, format="json").status_code == 201
    assert_error(
        client.post(URL, {**body, "amount": "8098193109"}, format="json"), 400, "invalid_amount"
    )
    assert Payment.objects.count() == 1
