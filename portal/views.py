"""The student's own pages (/me/...) and the office's device screen for one student.

A student sees only what is theirs: the Student linked to their login decides
every query. The office and staff reset a student's phones from
/students/<id>/devices/, with a reason kept in the device's audit row.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from attendance.devices import DeviceNotActive, device_name_problem, registered_response
from attendance.models import Student
from payments.permissions import FEES_OFFICE_GROUP
from portal import devices, selectors

SESSIONS_PER_PAGE = 25


def _not_a_student(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/not_a_student.html")


@login_required
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """The student's page: courses and rates, recent sessions, fees, devices."""
    student = selectors.student_of(request.user)
    if student is None:
        return _not_a_student(request)
    context = {
        "student": student,
        "courses": selectors.my_courses(student=student),
        "recent": selectors.with_excuse_actions(
            student=student,
            records=list(selectors.my_records(student=student)[: selectors.RECENT_SESSIONS]),
            today=timezone.localdate(),
        ),
        "fees": selectors.my_fees(student=student),
        "devices": [d for d in selectors.devices_of(student=student) if d.is_active],
        "recent_size": selectors.RECENT_SESSIONS,
    }
    return render(request, "portal/me.html", context)


@login_required
@require_GET
def my_sessions(request: HttpRequest) -> HttpResponse:
    """Every session of the student's courses that has their record, newest first, paged."""
    student = selectors.student_of(request.user)
    if student is None:
        return _not_a_student(request)
    page = Paginator(selectors.my_records(student=student), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = selectors.with_excuse_actions(
        student=student, records=list(page.object_list), today=timezone.localdate()
    )
    return render(request, "portal/my_sessions.html", {"student": student, "page": page})


@login_required
@require_GET
@never_cache
def my_devices(request: HttpRequest) -> HttpResponse:
    """The student's devices, and "replace my old phone" with this browser."""
    student = selectors.student_of(request.user)
    if student is None:
        return _not_a_student(request)
    found = selectors.devices_of(student=student)
    context = {
        "student": student,
        "active": [d for d in found if d.is_active],
        "revoked": [d for d in found if not d.is_active],
        "max_devices": settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT,
    }
    return render(request, "portal/my_devices.html", context)


def _json_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@login_required
@require_POST
@never_cache
def device_replace(request: HttpRequest, device_id: int) -> HttpResponse:
    """Revoke one of the student's devices and register this browser in its place.

    Answers JSON with the new token (this response only), which static/js/portal.js
    keeps where the device page looks for it. Without JavaScript the token could
    not be kept, so a plain form post changes nothing and says so.
    """
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not wants_json:
        messages.error(request, "Replacing a phone needs JavaScript; nothing was changed.")
        return redirect("portal:devices")
    student = selectors.student_of(request.user)
    if student is None or not student.is_active:
        return _json_error(
            403, "not_a_student", "Your account is not linked to an active student record."
        )
    name = request.POST.get("name", "").strip()
    if problem := device_name_problem(name):
        return _json_error(400, "invalid_name", problem)
    try:
        device, token = devices.replace_my_device(
            student=student, old_device_id=device_id, name=name or "Phone", by=request.user
        )
    except DeviceNotActive:
        return _json_error(
            409,
            "not_active",
            "That device is not one of your active devices any more; nothing was changed.",
        )
    return registered_response(request, device=device, token=token, student=student)


def can_reset_devices(user) -> bool:
    """Staff and the office may reset a student's phones."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.groups.filter(name=FEES_OFFICE_GROUP).exists()


@login_required
@require_http_methods(["GET", "POST"])
def student_devices(request: HttpRequest, student_id: int) -> HttpResponse:
    """The office's device screen for one student: revoke (reset) a phone with a reason."""
    if not can_reset_devices(request.user):
        raise PermissionDenied("Only the office and staff may reset a student's devices.")
    student = get_object_or_404(Student, pk=student_id)
    status = 200
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            ids = [int(v) for v in request.POST.getlist("device")]
        except ValueError:
            ids = []
        if not ids:
            messages.error(request, "Choose a device to reset; nothing was changed.")
            status = 400
        else:
            try:
                revoked = devices.reset_devices(
                    student=student, device_ids=ids, by=request.user, reason=reason
                )
            except devices.InvalidReason as exc:
                messages.error(request, f"{exc} Nothing was changed.")
                status = 400
            else:
                if revoked:
                    names = ", ".join(d.name for d in revoked)
                    messages.success(request, f"Reset {names} for {student.full_name}.")
                else:
                    messages.info(request, "That device was already reset; nothing changed.")
                return redirect("portal:student-devices", student_id=student.pk)
    context = {
        "student": student,
        "devices": selectors.devices_of(student=student),
        "reason": reason,
        "max_devices": settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT,
    }
    return render(request, "portal/student_devices.html", context, status=status)
