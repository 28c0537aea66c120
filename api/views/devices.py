"""Students' devices, for staff: register (the token is shown once), list, revoke."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema
from api.access import validated
from api.errors import Conflict
from api.permissions import IsStaff
from api.serializers import devices as serializers
from attendance import devices
from attendance.models import Device, Student
from portal import devices as staff_devices

TAGS = ["devices"]
API_REASON = "Revoked through the API"


def _student(student_id: int) -> Student:
    return get_object_or_404(Student, pk=student_id)


class StudentDevices(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=TAGS,
        summary="A student's devices, revoked ones included (never their tokens)",
        responses={200: serializers.DeviceSerializer(many=True), **schema.errors(401, 403, 404)},
    )
    def get(self, request: Request, student_id: int) -> Response:
        student = _student(student_id)
        rows = Device.objects.filter(student=student).select_related("student")
        return Response(serializers.DeviceSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Register a device for a student; the token is in this answer only",
        request=serializers.DeviceRegisterSerializer,
        responses={
            201: serializers.RegisteredDeviceSerializer,
            **schema.errors(400, 401, 403, 404, 409, 413, 415),
        },
    )
    def post(self, request: Request, student_id: int) -> Response:
        data = validated(serializers.DeviceRegisterSerializer, request.data)
        student = _student(student_id)
        try:
            device, token = devices.register_device(student=student, name=data["name"])
        except devices.DeviceLimitReached as exc:
            raise Conflict(str(exc), code="device_limit_reached") from None
        device.token = token
        return Response(
            serializers.RegisteredDeviceSerializer(device).data, status=status.HTTP_201_CREATED
        )


@extend_schema(
    tags=TAGS,
    summary="Revoke a device (idempotent); its open socket is closed; who and why are kept",
    request=serializers.DeviceRevokeSerializer,
    responses={200: serializers.DeviceSerializer, **schema.errors(400, 401, 403, 404, 413, 415)},
)
class DeviceRevoke(APIView):
    permission_classes = [IsStaff]

    def post(self, request: Request, device_id) -> Response:
        data = validated(serializers.DeviceRevokeSerializer, request.data)
        device = get_object_or_404(Device.objects.select_related("student"), public_id=device_id)
        staff_devices.revoke_as_staff(
            device=device, by=request.user, reason=data["reason"] or API_REASON
        )
        return Response(serializers.DeviceSerializer(device).data)
