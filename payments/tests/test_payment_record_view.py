import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from payments.models import Payment
from payments.selectors import fee_summary


def _url(student):
    return reverse("payments:payment-record", args=[student.pk])


def _data(term, **overrides):
    data = {
        "term": term.pk,
        "amount": "80.00",
        "method": "cash",
        "reference": "",
        "received_at": "",
        "note": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_the_fees_office_records_a_payment(client, fees_officer, billed_term, student):
    client.force_login(fees_officer)
    response = client.post(_url(student), _data(billed_term))
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.recorded_by) == (Decimal("80.00"), fees_officer)
    assert fee_summary(student=student, term=billed_term).balance == Decimal("40.00")
    page = client.get(response.url).content.decode()
    assert f"Payment {payment.reference} of USD 80.00 recorded." in page
    assert reverse("payments:payment-receipt", args=[payment.pk]) in page


@pytest.mark.django_db
def test_staff_record_with_htmx_and_get_the_partial_back(client, staff_user, billed_term, student):
    client.force_login(staff_user)
    response = client.post(_url(student), _data(billed_term), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<section class="panel" id="fees">' in body and "<html" not in body
    assert "recorded" in body and "Print the receipt" in body
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_double_submit_makes_one_payment(client, staff_user, billed_term, student):
    client.force_login(staff_user)
    data = _data(billed_term)
    first = client.post(_url(student), data)
    second = client.post(_url(student), data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be more than zero."),
        ("-5", "The amount must be more than zero."),
        ("1.234", "Use at most two decimal places."),
        ("ten", "Enter the amount as a number, like 80.00."),
        ("", "This field is required."),
        ("99999999999999", "That amount is too large."),
        ("NaN", "Enter the amount as a number, like 80.00."),
        ("1_000", "Enter the amount as a number, like 80.00."),
        ("1e3", "Enter the amount as a number, like 80.00."),
        ("\u0661\u0660", "Enter the amount as a number, like 80.00."),
    ],
)
def test_a_bad_amount_is_a_clear_inline_error_and_writes_nothing(
    client, staff_user, billed_term, student, amount, message
):
    client.force_login(staff_user)
    response = client.post(_url(student), _data(billed_term, amount=amount), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'class="field-error"' in response.content.decode()
    assert Payment.objects.count() == 0
    without_js = client.post(_url(student), _data(billed_term, amount=amount))
    assert without_js.status_code == 400
    assert message in without_js.content.decode()
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_duplicate_reference_is_an_error_on_the_reference(
    client, staff_user, billed_term, students
):
    client.force_login(staff_user)
    client.post(_url(students[0]), _data(billed_term, reference="BANK-9"))
    response = client.post(_url(students[1]), _data(billed_term, reference="BANK-9"))
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_missing_idempotency_key_is_refused(client, staff_user, billed_term, student):
    client.force_login(staff_user)
    response = client.post(_url(student), _data(billed_term, idempotency_key="nope"))
    assert response.status_code == 400
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_lecturer_may_not_record_payments(client, lecturer, billed_term, student):
    client.force_login(lecturer)
    response = client.post(_url(student), _data(billed_term))
    assert response.status_code == 403
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, billed_term, student):
    response = client.post(_url(student), _data(billed_term))
    assert response.status_code == 302 and reverse("login") in response.url
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_a_get_is_not_allowed(client, staff_user, student):
    client.force_login(staff_user)
    assert client.get(_url(student)).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Lima"])
def test_a_payment_dated_before_1900_is_an_error_on_its_date(
    client, staff_user, billed_term, student, settings, zone
):
    # Year 1 east of UTC was stored as a BC timestamp that Python cannot read back:
    # the student's page and the receipt failed for good.
    settings.TIME_ZONE = zone
    client.force_login(staff_user)
    response = client.post(_url(student), _data(billed_term, received_at="0001-01-01T00:00"))
    assert response.status_code == 400
    assert "A payment cannot be dated before 01 January 1900." in response.content.decode()
    assert Payment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["²", "٣", "-1", "1.0"])
def test_a_term_that_is_no_number_falls_back_to_the_active_term(
    client, staff_user, billed_term, student, raw
):
    client.force_login(staff_user)
    page = client.get(reverse("payments:student-detail", args=[student.pk]), {"term": raw})
    assert page.status_code == 200 and billed_term.name in page.content.decode()
    response = client.post(_url(student), {**_data(billed_term, amount="x"), "term": raw})
    assert response.status_code == 400 and Payment.objects.count() == 0
