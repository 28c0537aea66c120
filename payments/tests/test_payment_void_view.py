from decimal import Decimal

import pytest
from django.urls import reverse

from payments.models import PaymentReversal
from payments.selectors import fee_summary


@pytest.fixture
def payment(billed_term, student, pay):
    return pay(student, billed_term, "80.00", reference="BANK-3")


def _url(payment):
    return reverse("payments:payment-void", args=[payment.pk])


@pytest.mark.django_db
def test_the_fees_office_voids_a_payment_with_a_reason(client, fees_officer, payment, student):
    client.force_login(fees_officer)
    response = client.post(_url(payment), {"reason": "Cheque bounced"})
    assert response.status_code == 302
    reversal = PaymentReversal.objects.get()
    assert (reversal.reason, reversal.reversed_by) == ("Cheque bounced", fees_officer)
    assert fee_summary(student=student, term=payment.term).balance == Decimal("120.00")


@pytest.mark.django_db
def test_voiding_with_htmx_returns_the_statement(client, staff_user, payment):
    client.force_login(staff_user)
    response = client.post(_url(payment), {"reason": "Wrong student"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Void of BANK-3: Wrong student" in body and "voided" in body


@pytest.mark.django_db
def test_a_void_without_a_reason_changes_nothing(client, staff_user, payment):
    client.force_login(staff_user)
    response = client.post(_url(payment), {"reason": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    assert not PaymentReversal.objects.exists()


@pytest.mark.django_db
def test_voiding_twice_is_refused_clearly(client, staff_user, payment):
    client.force_login(staff_user)
    client.post(_url(payment), {"reason": "Once"})
    response = client.post(_url(payment), {"reason": "Twice"}, follow=True)
    assert "already voided" in response.content.decode()
    assert PaymentReversal.objects.count() == 1


@pytest.mark.django_db
def test_a_lecturer_may_not_void(client, lecturer, payment):
    client.force_login(lecturer)
    assert client.post(_url(payment), {"reason": "x"}).status_code == 403
    assert not PaymentReversal.objects.exists()
