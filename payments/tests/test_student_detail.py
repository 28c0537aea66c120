import pytest
from django.urls import reverse

from payments import ledger


def _url(student):
    return reverse("payments:student-detail", args=[student.pk])


@pytest.mark.django_db
def test_the_statement_shows_charges_payments_and_reversals(
    client, staff_user, billed_term, student, pay
):
    payment = pay(student, billed_term, "80.00", reference="BANK-1")
    pay(student, billed_term, "20.00", reference="BANK-2")
    ledger.void_payment(payment=payment, reason="Bounced", by=staff_user)
    client.force_login(staff_user)
    response = client.get(_url(student))
    assert response.status_code == 200
    kinds = [line.kind for line in response.context["lines"]]
    assert kinds == ["charge", "payment", "payment", "reversal"]
    assert [str(line.balance) for line in response.context["lines"]] == [
        "120.00",
        "40.00",
        "20.00",
        "100.00",
    ]
    body = response.content.decode()
    assert "Void of BANK-1: Bounced" in body and "Record payment" in body
    assert "USD 100.00" in body


@pytest.mark.django_db
def test_a_lecturer_sees_attendance_but_no_fees(client, lecturer, billed_term, student):
    client.force_login(lecturer)
    response = client.get(_url(student))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Attendance" in body
    assert "Statement" not in body and "Record payment" not in body and "USD" not in body


@pytest.mark.django_db
def test_a_lecturer_cannot_open_a_student_outside_their_courses(client, lecturer, make_students):
    [outsider] = make_students(1, prefix="Z")
    client.force_login(lecturer)
    assert client.get(_url(outsider)).status_code == 404


@pytest.mark.django_db
def test_a_viewer_with_only_view_permission_sees_fees_but_no_form(
    client, make_user, billed_term, student
):
    from django.contrib.auth.models import Permission

    viewer = make_user("auditor")
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(viewer)
    body = client.get(_url(student)).content.decode()
    assert "Statement" in body and "Record payment" not in body


@pytest.mark.django_db
def test_without_terms_it_says_how_to_start(client, staff_user, student):
    client.force_login(staff_user)
    assert "No term exists yet" in client.get(_url(student)).content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, student):
    assert client.get(_url(student)).status_code == 302
