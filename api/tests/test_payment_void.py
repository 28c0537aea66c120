import pytest

from api.tests.conftest import assert_error
from payments import ledger
from payments.models import PaymentReversal


def url(payment_id: int) -> str:
    return f"/api/payments/{payment_id}/void/"


@pytest.fixture
def payment(students, billed_term):
    return ledger.record_payment(
        student=students[0], term=billed_term, amount="80.00", method="cheque", by=None
    ).payment


def test_it_voids_the_payment_so_it_no_longer_counts(client_for, payment):
    response = client_for("office").post(
        url(payment.pk), {"reason": "Cheque bounced"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["voided"], data["balance"], data["status"]) == (
        payment.pk,
        True,
        "120.00",
        "UNPAID",
    )
    reversal = PaymentReversal.objects.get(payment=payment)
    assert reversal.reason == "Cheque bounced"
    assert reversal.reversed_by.username == "office"


def test_voiding_twice_is_a_409_and_one_reversal(client_for, payment):
    client = client_for("office")
    assert client.post(url(payment.pk), {"reason": "x"}, format="json").status_code == 200
    response = client.post(url(payment.pk), {"reason": "again"}, format="json")
    assert_error(response, 409, "already_voided")
    assert PaymentReversal.objects.filter(payment=payment).count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "invalid"), ({"reason": ""}, "invalid"), ({"reason": "   "}, None), ({"why": "x"}, None)],
)
def test_it_wants_a_reason(client_for, payment, body, code):
    assert_error(client_for("office").post(url(payment.pk), body, format="json"), 400, code)
    assert not PaymentReversal.objects.exists()


def test_an_unknown_payment_is_a_404(client_for, payment):
    response = client_for("office").post(url(payment.pk + 100), {"reason": "x"}, format="json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("office", 200),
        ("staff", 200),
        ("lecturer", 403),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, payment, actor, status):
    response = client_for(actor).post(url(payment.pk), {"reason": "x"}, format="json")
    if status == 200:
        assert response.status_code == 200
        assert PaymentReversal.objects.filter(payment=payment).exists()
    else:
        assert_error(response, status)
        assert not PaymentReversal.objects.exists()
