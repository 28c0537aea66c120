"""Who may use the API at all; which objects they reach is checked per view.

Staff reach everything. A lecturer (a user who teaches at least one course)
reaches their own courses. The fees office (payments.permissions) lists
students with their fees and records and voids payments. Everyone else, a
student's own login included, reaches nothing here.
"""

from rest_framework.permissions import BasePermission

from attendance.models import Course, Student
from payments.permissions import can_record_payments, can_view_fees, can_void_payments


def _authenticated(user) -> bool:
    return user is not None and user.is_authenticated


class IsStaffOrLecturer(BasePermission):
    message = "Only staff and lecturers may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not _authenticated(user):
            return False
        return user.is_staff or Course.objects.filter(lecturers=user).exists()


class HasTimetable(BasePermission):
    """Staff, lecturers, and students (their own classes): whoever has a week of classes."""

    message = "Only staff, lecturers and students have a timetable."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not _authenticated(user):
            return False
        return (
            user.is_staff
            or Course.objects.filter(lecturers=user).exists()
            or Student.objects.filter(user=user, is_active=True).exists()
        )


class IsStaff(BasePermission):
    message = "Only staff may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request.user) and request.user.is_staff


class MaySeeStudents(BasePermission):
    """Staff, lecturers, and whoever may see fees (the fees office)."""

    message = "Only staff, lecturers and the fees office may list students."

    def has_permission(self, request, view) -> bool:
        return IsStaffOrLecturer().has_permission(request, view) or can_view_fees(request.user)


class MayRecordPayments(BasePermission):
    message = "You may not record payments."

    def has_permission(self, request, view) -> bool:
        return can_record_payments(request.user)


class MayVoidPayments(BasePermission):
    message = "You may not void payments."

    def has_permission(self, request, view) -> bool:
        return can_void_payments(request.user)
