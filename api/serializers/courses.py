"""Courses, and a course's sessions with their register totals."""

from rest_framework import serializers


class CourseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


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
