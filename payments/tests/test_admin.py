from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from payments.models import Charge, Payment, PaymentReversal, Term
from payments.selectors import fee_summary


@pytest.fixture
def admin_client(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    return client


@pytest.fixture
def payment(billed_term, student, pay):
    return pay(student, billed_term, "80.00", reference="BANK-1")


@pytest.mark.django_db
def test_admin_refuses_to_delete_a_payment(admin_client, payment):
    url = reverse("admin:payments_payment_delete", args=[payment.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:payments_payment_changelist")
    response = admin_client.post(
        changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [payment.pk], "post": "yes"}
    )
    assert response.status_code in {200, 302}
    assert Payment.objects.filter(pk=payment.pk).exists()


@pytest.mark.django_db
def test_admin_shows_a_payment_read_only(admin_client, payment):
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="amount"' not in page.content.decode()
    response = admin_client.post(url, {"amount": "1.00", "reference": "X"})
    assert response.status_code == 403
    payment.refresh_from_db()
    assert (payment.amount, payment.reference) == (Decimal("80.00"), "BANK-1")


@pytest.mark.django_db
def test_admin_has_no_add_page_for_payments_or_reversals(admin_client):
    assert admin_client.get(reverse("admin:payments_payment_add")).status_code == 403
    assert admin_client.get(reverse("admin:payments_paymentreversal_add")).status_code == 403


@pytest.mark.django_db
def test_the_void_action_asks_for_a_reason_then_voids(admin_client, payment, student):
    changelist = reverse("admin:payments_payment_changelist")
    ask = admin_client.post(
        changelist, {"action": "void_payments", ACTION_CHECKBOX_NAME: [payment.pk]}
    )
    assert ask.status_code == 200 and "Reason" in ask.content.decode()
    assert not PaymentReversal.objects.exists()
    empty = admin_client.post(
        changelist,
        {
            "action": "void_payments",
            ACTION_CHECKBOX_NAME: [payment.pk],
            "confirm": "1",
            "reason": "",
        },
    )
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert not PaymentReversal.objects.exists()
    done = admin_client.post(
        changelist,
        {
            "action": "void_payments",
            ACTION_CHECKBOX_NAME: [payment.pk],
            "confirm": "1",
            "reason": "Wrong student",
        },
    )
    assert done.status_code == 302
    assert PaymentReversal.objects.get().reason == "Wrong student"
    assert fee_summary(student=student, term=payment.term).balance == Decimal("120.00")


@pytest.mark.django_db
def test_the_payment_list_filters_by_term_and_status(admin_client, payment, billed_term):
    changelist = reverse("admin:payments_payment_changelist")
    assert admin_client.get(changelist, {"term__id__exact": billed_term.pk}).status_code == 200
    assert admin_client.get(changelist, {"voided": "yes"}).context["cl"].result_count == 0
    assert admin_client.get(changelist, {"voided": "no"}).context["cl"].result_count == 1


@pytest.mark.django_db
def test_the_bill_action_charges_each_student_once(admin_client, term, students):
    changelist = reverse("admin:payments_term_changelist")
    data = {"action": "bill_terms", ACTION_CHECKBOX_NAME: [term.pk]}
    assert admin_client.post(changelist, data).status_code == 302
    assert admin_client.post(changelist, data).status_code == 302
    assert Charge.objects.filter(term=term).count() == 5


@pytest.mark.django_db
def test_the_activate_action_leaves_one_active_term(admin_client, term, make_term):
    other = make_term("Third Term", active=False)
    changelist = reverse("admin:payments_term_changelist")
    response = admin_client.post(
        changelist, {"action": "make_active", ACTION_CHECKBOX_NAME: [other.pk]}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    term.refresh_from_db()
    assert other.is_active and not term.is_active
    assert Term.objects.filter(is_active=True).count() == 1


@pytest.mark.django_db
def test_an_adjustment_added_in_admin_goes_through_the_ledger(admin_client, billed_term, student):
    response = admin_client.post(
        reverse("admin:payments_charge_add"),
        {
            "student": student.pk,
            "term": billed_term.pk,
            "kind": "discount",
            "amount": "20.00",
            "reason": "Sibling discount",
        },
    )
    assert response.status_code == 302
    charge = Charge.objects.get(kind="discount")
    assert (charge.amount, charge.created_by.username) == (Decimal("-20.00"), "admin")
    assert fee_summary(student=student, term=billed_term).balance == Decimal("100.00")


@pytest.mark.django_db
def test_admin_refuses_to_delete_a_charge(admin_client, billed_term):
    charge = Charge.objects.first()
    url = reverse("admin:payments_charge_delete", args=[charge.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Charge.objects.filter(pk=charge.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "admin:payments_term_changelist",
        "admin:payments_term_add",
        "admin:payments_charge_changelist",
        "admin:payments_charge_add",
        "admin:payments_payment_changelist",
        "admin:payments_paymentreversal_changelist",
        "admin:payments_duedateextension_changelist",
        "admin:payments_duedateextension_add",
    ],
)
def test_every_fee_admin_page_opens(admin_client, payment, staff_user, name):
    from payments import ledger

    ledger.void_payment(payment=payment, reason="Test", by=staff_user)
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_a_reversal_and_a_charge_open_read_only(admin_client, payment, staff_user):
    from payments import ledger

    reversal = ledger.void_payment(payment=payment, reason="Test", by=staff_user)
    page = admin_client.get(reverse("admin:payments_paymentreversal_change", args=[reversal.pk]))
    assert page.status_code == 200 and 'name="reason"' not in page.content.decode()
    charge = Charge.objects.first()
    page = admin_client.get(reverse("admin:payments_charge_change", args=[charge.pk]))
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()


@pytest.mark.django_db
def test_extensions_and_a_terms_due_date_changed_in_admin_reach_the_balance_rows(
    admin_client, billed_term, students
):
    from datetime import timedelta

    from payments.models import Balance, DueDateExtension

    later = billed_term.due_on + timedelta(days=21)
    add = reverse("admin:payments_duedateextension_add")
    response = admin_client.post(
        add,
        {"student": students[0].pk, "term": billed_term.pk, "due_on": later, "reason": "Plan"},
    )
    assert response.status_code == 302
    assert Balance.objects.get(student=students[0], term=billed_term).due_on == later

    moved = billed_term.due_on - timedelta(days=3)
    change = reverse("admin:payments_term_change", args=[billed_term.pk])
    assert admin_client.post(change, _term_form(billed_term, due_on=moved)).status_code == 302
    due = dict(Balance.objects.filter(term=billed_term).values_list("student_id", "due_on"))
    assert due[students[0].pk] == later  # the agreed plan stands
    assert {due[s.pk] for s in students[1:]} == {moved}

    extension = DueDateExtension.objects.get()
    delete = reverse("admin:payments_duedateextension_delete", args=[extension.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not DueDateExtension.objects.exists()
    assert Balance.objects.get(student=students[0], term=billed_term).due_on == moved


@pytest.mark.django_db
def test_admin_refuses_a_term_date_past_what_records_may_name(admin_client, billed_term):
    change = reverse("admin:payments_term_change", args=[billed_term.pk])
    response = admin_client.post(change, _term_form(billed_term, due_on="9999-12-31"))
    assert response.status_code == 200
    assert "must fall between 1900 and 2999" in response.content.decode()
    billed_term.refresh_from_db()
    assert billed_term.due_on.year < 3000


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -3, -10_000])
def test_an_extension_must_be_later_than_the_terms_due_date(
    admin_client, billed_term, students, days
):
    from datetime import timedelta

    from payments import ledger
    from payments.models import Balance, DueDateExtension

    due_on = billed_term.due_on + timedelta(days=days)
    response = admin_client.post(
        reverse("admin:payments_duedateextension_add"),
        {"student": students[0].pk, "term": billed_term.pk, "due_on": due_on, "reason": "Plan"},
    )
    assert response.status_code == 200
    assert "An extension must be later than the term&#x27;s due date" in response.content.decode()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.extend_due_date(student=students[0], term=billed_term, due_on=due_on, reason="x")
    assert refused.value.code == "invalid_date"
    assert not DueDateExtension.objects.exists()
    assert Balance.objects.get(student=students[0], term=billed_term).due_on == billed_term.due_on


def _term_form(term, **changes) -> dict:
    """Admin's change form for `term`, as it stands, with `changes`."""
    fields = ("name", "year", "starts_on", "ends_on", "fee", "due_on")
    return {name: getattr(term, name) for name in fields} | changes
