"""The device page a student keeps open on their phone during class.

The login session is needed once, to register the phone: the page then keeps
the device id and token in localStorage and the socket authenticates with them.
A long-lived marker cookie (no secret in it) lets later visits open the page
without signing in again.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from attendance.devices import (
    DEVICE_COOKIE,
    DeviceLimitReached,
    device_name_problem,
    register_device,
    registered_response,
)
from attendance.models import Student


def _student_for(request: HttpRequest) -> Student | None:
    if not request.user.is_authenticated:
        return None
    try:
        student = request.user.student
    except ObjectDoesNotExist:
        return None
    return student if student.is_active else None


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@require_GET
@never_cache
def device_page(request: HttpRequest) -> HttpResponse:
    registered_here = request.COOKIES.get(DEVICE_COOKIE) == "1"
    if not request.user.is_authenticated and not registered_here:
        return redirect_to_login(request.get_full_path())
    student = _student_for(request)
    if request.user.is_authenticated and student is None and not registered_here:
        return render(request, "device/not_a_student.html")
    return render(
        request,
        "device/device.html",
        {
            "student": student,
            "heartbeat": settings.ATTENDANCE_HEARTBEAT_SECONDS,
            "max_devices": settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT,
        },
    )


@require_POST
@never_cache
def device_register(request: HttpRequest) -> JsonResponse:
    """Register this phone for the signed-in student; the token is in this response only."""
    if not request.user.is_authenticated:
        return _error(401, "unauthenticated", "Sign in to register this phone.")
    student = _student_for(request)
    if student is None:
        return _error(
            403,
            "not_a_student",
            "Your account is not linked to a student record. Ask the school office to link it.",
        )
    name = request.POST.get("name", "").strip()
    if problem := device_name_problem(name):
        return _error(400, "invalid_name", problem)
    try:
        device, token = register_device(student=student, name=name or "Phone")
    except DeviceLimitReached:
        return _error(
            409,
            "device_limit",
            f"You already have {settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT} registered devices. "
            f"Replace one you no longer use on My devices ({reverse('portal:devices')}), "
            "or ask the school office to remove one.",
        )
    return registered_response(request, device=device, token=token, student=student)
