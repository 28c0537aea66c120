"""Shapes of the API's requests and responses. Validation of input only: no rules here."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attendance.models import AttendanceRecord, NetworkSession
from payments.models import Payment
from payments.selectors import FeeStatus

# Ids are 64-bit in the database; a larger number can only be a mistake.
MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not know, so a misspelt field is an error, not a silent no-op."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string or a boolean that looks like one."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A JSON string, not a number turned into one. (CharField already refuses NUL and
    lone surrogates, which the database could not store.)"""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- Requests --------------------------------------------------------------------------------


class EmptySerializer(StrictSerializer):
    """No body, or `{}`."""


# Query strings may carry other keys (a cache-buster); only JSON bodies are strict.
class SessionStatusQuerySerializer(serializers.Serializer):
    course_id = id_field()


class SessionStartSerializer(StrictSerializer):
    course_id = StrictIntegerField(min_value=1, max_value=MAX_ID)


class StudentFilterSerializer(serializers.Serializer):
    search = TextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words separated by spaces; a student matches when every word is part of "
        "their first name, last name, student number or email, in any case. Empty: no filter.",
    )
    course = id_field(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=FeeStatus.choices,
        required=False,
        help_text="Fee status for the active term; only for those who may see fees.",
    )


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}
)
class AmountField(serializers.DecimalField):
    """An amount of money as a decimal string ("80.00"); the ledger decides if it is acceptable."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, **kwargs)


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
    idempotency_key = serializers.UUIDField(
        required=False,
        help_text="Send the same key again (a retry) and get the first payment back, with 200.",
    )


class PaymentVoidSerializer(StrictSerializer):
    reason = TextField(max_length=300, help_text="Why the payment no longer counts.")


class DeviceRegisterSerializer(StrictSerializer):
    name = TextField(required=False, allow_blank=True, max_length=100, default="")


# --- Responses -------------------------------------------------------------------------------


class CourseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class LiveSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField(min_value=0)
    connected = serializers.IntegerField(min_value=0)
    checked_in = serializers.IntegerField(min_value=0)
    enrolled = serializers.IntegerField(min_value=0)


class SessionStatusSerializer(serializers.Serializer):
    course = CourseSerializer()
    active = serializers.BooleanField()
    session = LiveSessionSerializer(allow_null=True)


class StartedSessionSerializer(LiveSessionSerializer):
    course = CourseSerializer()
    join_code = serializers.CharField(
        min_length=6, max_length=6, help_text="The current join code, for the class."
    )


class SessionEndSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ended_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=NetworkSession.EndReason.choices)
    present = serializers.IntegerField(min_value=0)
    late = serializers.IntegerField(min_value=0)
    absent = serializers.IntegerField(min_value=0)
    excused = serializers.IntegerField(min_value=0)


class RefreshSerializer(serializers.Serializer):
    expired = serializers.IntegerField(min_value=0)
    superseded = serializers.IntegerField(min_value=0)
    active = serializers.IntegerField(min_value=0)


class AttendanceRowSerializer(serializers.Serializer):
    student = serializers.CharField(source="student.student_number", help_text="Student number.")
    name = serializers.CharField(source="student.full_name")
    status = serializers.ChoiceField(choices=AttendanceRecord.Status.choices)
    first_seen = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=AttendanceRecord.Source.choices)


class CourseSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()
    end_reason = serializers.CharField(help_text="ended, expired, superseded, forced; or empty.")
    present = serializers.IntegerField(min_value=0)
    late = serializers.IntegerField(min_value=0)
    absent = serializers.IntegerField(min_value=0)
    excused = serializers.IntegerField(min_value=0)


class StudentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    student_number = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    name = serializers.CharField(source="full_name")
    email = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    courses = serializers.SerializerMethodField()
    balance = money_field(
        source="fee_balance",
        required=False,
        allow_null=True,
        help_text="Active term: charges less valid payments. Only for those who may see fees; "
        "null when no term is active.",
    )
    status = serializers.ChoiceField(
        source="fee_status",
        choices=FeeStatus.choices,
        required=False,
        allow_null=True,
        help_text="Active term's fee status. Only for those who may see fees.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.context.get("fees"):
            del self.fields["balance"], self.fields["status"]

    def get_courses(self, student) -> list[str]:
        # Read from the prefetch, so a page costs the same queries whatever its length.
        return [course.code for course in student.courses.all()]


class DeviceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    student = serializers.CharField(source="student.student_number")
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class RegisteredDeviceSerializer(DeviceSerializer):
    token = serializers.CharField(
        help_text="The device's secret: shown this once, never stored in plain text."
    )


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
