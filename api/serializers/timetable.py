"""The caller's timetable: a week of classes, and the next class."""

from rest_framework import serializers

from api.serializers.courses import CourseSerializer
from attendance.days import FIRST_DAY, LAST_DAY
from timetable.schedule import Status

STATUSES = [
    (Status.UPCOMING, "Not opened yet."),
    (Status.RUNNING, "Its session is open: check in now."),
    (Status.HELD, "It took place; its register is written."),
    (Status.MISSED, "It is over and was never opened."),
    (Status.CANCELLED, "Called off."),
    (Status.CLOSED, "The school is closed that day."),
]


class WeekQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False,
        help_text=(
            f"Any day of the week wanted (YYYY-MM-DD, {FIRST_DAY.year} to {LAST_DAY.year});"
            " default today."
        ),
    )

    def validate_date(self, value):
        if not FIRST_DAY <= value <= LAST_DAY:
            raise serializers.ValidationError(
                f"Choose a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."
            )
        return value


class ClassSerializer(serializers.Serializer):
    course = CourseSerializer()
    date = serializers.DateField(help_text="The school's local date.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    opens_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When its session opens by itself; null when the lecturer starts it.",
    )
    room = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(
        choices=STATUSES, help_text="; ".join(f"`{k}`: {v}" for k, v in STATUSES)
    )
    session = serializers.IntegerField(
        allow_null=True, help_text="The class's session, once it has opened."
    )
    note = serializers.CharField(
        allow_blank=True, help_text="Why it was cancelled, or the closure's name."
    )


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="The Monday.")
    week_end = serializers.DateField(help_text="The Sunday.")
    classes = ClassSerializer(many=True)


class NextClassSerializer(serializers.Serializer):
    next = ClassSerializer(
        allow_null=True,
        help_text="The class running now, else the next one; null if none in four months.",
    )
