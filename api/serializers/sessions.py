"""Class sessions: start, status, end, registers, and courses."""

from rest_framework import serializers

from api.serializers.courses import CourseSerializer
from api.serializers.fields import MAX_ID, QueryIdField, StrictIntegerField, StrictSerializer
from attendance.models import AttendanceRecord, NetworkSession


# Query strings may carry other keys (a cache-buster); only JSON bodies are strict.
class SessionStatusQuerySerializer(serializers.Serializer):
    course_id = QueryIdField()


class SessionStartSerializer(StrictSerializer):
    course_id = StrictIntegerField(min_value=1, max_value=MAX_ID)


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
