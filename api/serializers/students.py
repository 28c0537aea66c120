"""Students, with their fee balance and status for those who may see fees."""

from rest_framework import serializers

from api.serializers.fields import QueryIdField, TextField, money_field
from payments.selectors import FeeStatus


class StudentFilterSerializer(serializers.Serializer):
    search = TextField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words separated by spaces; a student matches when every word is part of "
        "their first name, last name, student number or email, in any case. Empty: no filter.",
    )
    course = QueryIdField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=FeeStatus.choices,
        required=False,
        help_text="Fee status for the active term; only for those who may see fees.",
    )


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
