"""Payments: record, void, and the entry with the balance after it."""

from rest_framework import serializers

from api.serializers.fields import (
    MAX_ID,
    AmountField,
    StrictIntegerField,
    StrictSerializer,
    StrictUUIDField,
    TextField,
    money_field,
)
from payments.models import Payment
from payments.selectors import FeeStatus


class PaymentRecordSerializer(StrictSerializer):
    student_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    term_id = StrictIntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Default: the active term."
    )
    amount = AmountField(help_text='A positive amount such as "80.00".')
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    reference = TextField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The receipt number; one is made when left out.",
    )
    received_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    note = TextField(required=False, allow_blank=True, max_length=300, default="")
    idempotency_key = StrictUUIDField(
        required=False,
        help_text="Send the same key again (a retry) and get the first payment back, with 200.",
    )


class PaymentVoidSerializer(StrictSerializer):
    reason = TextField(max_length=300, help_text="Why the payment no longer counts.")


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    student = serializers.CharField(source="student.student_number", help_text="Student number.")
    term = serializers.IntegerField(source="term_id")
    amount = money_field()
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    reference = serializers.CharField()
    received_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    voided = serializers.BooleanField(source="is_voided")
    balance = money_field(help_text="The student's balance for the term after this entry.")
    status = serializers.ChoiceField(choices=FeeStatus.choices)
