from decimal import Decimal

import pytest
from django.urls import reverse

from payments.models import Charge
from payments.selectors import fee_summary


def _url(student):
    return reverse("payments:adjustment-add", args=[student.pk])


@pytest.mark.django_db
def test_the_fees_office_adds_a_scholarship(client, fees_officer, billed_term, student):
    client.force_login(fees_officer)
    response = client.post(
        _url(student),
        {"term": billed_term.pk, "kind": "scholarship", "amount": "50.00", "reason": "Merit"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Scholarship of USD 50.00 added." in response.content.decode()
    charge = Charge.objects.get(kind="scholarship")
    assert (charge.amount, charge.reason, charge.created_by) == (
        Decimal("-50.00"),
        "Merit",
        fees_officer,
    )
    assert fee_summary(student=student, term=billed_term).balance == Decimal("70.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "discount", "amount": "10", "reason": ""}, "This field is required."),
        ({"kind": "term_fee", "amount": "10", "reason": "x"}, "Select a valid choice."),
        ({"kind": "extra", "amount": "0", "reason": "x"}, "The amount must be more than zero."),
    ],
)
def test_a_bad_adjustment_is_an_inline_error(
    client, staff_user, billed_term, student, data, message
):
    client.force_login(staff_user)
    response = client.post(_url(student), {"term": billed_term.pk, **data}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Charge.objects.filter(student=student).count() == 1


@pytest.mark.django_db
def test_a_lecturer_may_not_adjust(client, lecturer, billed_term, student):
    client.force_login(lecturer)
    response = client.post(
        _url(student), {"term": billed_term.pk, "kind": "discount", "amount": "5", "reason": "x"}
    )
    assert response.status_code == 403
    assert Charge.objects.filter(student=student).count() == 1
