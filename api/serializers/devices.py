"""A student's devices: register (the token once), list, revoke."""

from rest_framework import serializers

from api.serializers.fields import StrictSerializer, TextField


class DeviceRegisterSerializer(StrictSerializer):
    name = TextField(required=False, allow_blank=True, max_length=100, default="")


class DeviceRevokeSerializer(StrictSerializer):
    reason = TextField(
        required=False,
        allow_blank=True,
        max_length=300,
        default="",
        help_text="Kept in the device's audit row with who revoked it (blank: through the API).",
    )


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
