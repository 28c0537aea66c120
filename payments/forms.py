"""Forms for the fee pages. They check shape; payments/ledger.py applies the rules."""

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone

from attendance.models import Course
from payments import ledger
from payments.ledger import MAX_AMOUNT
from payments.models import Charge, Payment, Term
from payments.selectors import FeeStatus

NAME_SORTS = [("name", "Name, A to Z"), ("-name", "Name, Z to A")]
BALANCE_SORTS = [("-balance", "Balance, largest owed first"), ("balance", "Balance, credit first")]


class AmountField(forms.DecimalField):
    """An amount as ledger.plain_amount reads one (the field's own checks follow)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not ledger.plain_amount(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class StudentFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *FeeStatus.choices])
    course = forms.ModelChoiceField(
        required=False, queryset=Course.objects.none(), empty_label="Any course"
    )
    sort = forms.ChoiceField(required=False, choices=NAME_SORTS + BALANCE_SORTS, label="Sort")

    def __init__(self, *args, courses, show_fees: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses
        if not show_fees:
            # Those who may not see fees may not filter or sort by them either.
            del self.fields["status"]
            self.fields["sort"].choices = NAME_SORTS


class PaymentForm(forms.Form):
    term = forms.ModelChoiceField(queryset=Term.objects.all(), empty_label=None)
    amount = AmountField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        error_messages={
            "invalid": "Enter the amount as a number, like 80.00.",
            "min_value": "The amount must be more than zero.",
            "max_decimal_places": "Use at most two decimal places.",
            "max_digits": "That amount is too large.",
            "max_whole_digits": "That amount is too large.",
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reference = forms.CharField(
        required=False,
        max_length=64,
        help_text="Bank or receipt reference. Left empty, a receipt number is made.",
    )
    received_at = forms.DateTimeField(
        required=False,
        label="Received",
        help_text="Left empty: now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(required=False, max_length=300)
    # Made when the form is rendered; a second submit of the same form finds
    # the payment the first one recorded.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, term: Term | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4())
        if term is not None:
            kwargs["initial"].setdefault("term", term.pk)
        super().__init__(*args, **kwargs)

    def clean_received_at(self):
        received_at = self.cleaned_data.get("received_at")
        if received_at and received_at > timezone.now():
            raise forms.ValidationError("A payment cannot be received in the future.")
        if received_at and received_at < ledger.EARLIEST_PAYMENT:
            raise forms.ValidationError(ledger.EARLIEST_PAYMENT_MESSAGE)
        return received_at


class VoidPaymentForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}), strip=True)


class AdjustmentForm(forms.Form):
    term = forms.ModelChoiceField(queryset=Term.objects.all(), empty_label=None)
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in Charge.Kind if k != Charge.Kind.TERM_FEE]
    )
    amount = AmountField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        help_text="Always positive: discounts and scholarships reduce the balance.",
        error_messages=PaymentForm.base_fields["amount"].error_messages,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    reason = forms.CharField(max_length=300)

    def __init__(self, *args, term: Term | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        # Its own ids: it shares the page with the payment form.
        kwargs.setdefault("auto_id", "adj_%s")
        if term is not None:
            kwargs["initial"].setdefault("term", term.pk)
        super().__init__(*args, **kwargs)
