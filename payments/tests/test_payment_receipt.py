import pytest
from django.urls import reverse

from payments import ledger


def _url(payment):
    return reverse("payments:payment-receipt", args=[payment.pk])


@pytest.mark.django_db
def test_the_receipt_shows_the_payment(client, fees_officer, billed_term, student, pay):
    payment = pay(student, billed_term, "80.00", reference="BANK-5", method="bank_transfer")
    client.force_login(fees_officer)
    response = client.get(_url(payment))
    body = response.content.decode()
    assert response.status_code == 200
    assert "BANK-5" in body and "USD 80.00" in body and "Bank transfer" in body
    assert student.full_name in body and "data-print" in body  # static/js/actions.js prints
    assert "onclick" not in body
    assert "VOIDED" not in body


@pytest.mark.django_db
def test_the_receipt_names_the_school_and_the_balance_left(
    client, fees_officer, billed_term, student, pay, settings
):
    settings.SCHOOL_NAME = "St. Brigid's <College>"
    first = pay(student, billed_term, "100.00")
    later = pay(student, billed_term, "50.00")
    client.force_login(fees_officer)
    body = client.get(_url(first)).content.decode()
    assert "St. Brigid&#x27;s &lt;College&gt;" in body
    assert "USD 20.00 <span" in body  # 120.00 less 100.00, left after this payment
    assert "Credit USD 30.00" in body  # today, after the later payment
    body = client.get(_url(later)).content.decode()
    assert "Credit USD 30.00" in body and "Balance today" not in body
    assert "-30.00" not in body


@pytest.mark.django_db
def test_a_voided_payment_receipt_says_so(client, staff_user, billed_term, student, pay):
    payment = pay(student, billed_term, "80.00")
    ledger.void_payment(payment=payment, reason="Wrong student", by=staff_user)
    client.force_login(staff_user)
    assert "VOIDED" in client.get(_url(payment)).content.decode()


@pytest.mark.django_db
def test_a_lecturer_cannot_see_a_receipt(client, lecturer, billed_term, student, pay):
    payment = pay(student, billed_term, "80.00")
    client.force_login(lecturer)
    assert client.get(_url(payment)).status_code == 403


@pytest.mark.django_db
def test_an_unknown_receipt_is_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("payments:payment-receipt", args=[999])).status_code == 404
