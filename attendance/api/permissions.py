"""Who may use the API at all; which objects they reach is checked per view.

Staff reach everything. A lecturer (a user who teaches at least one course)
reaches their own courses. Everyone else, a student's own login included,
reaches nothing here.
"""

from rest_framework.permissions import BasePermission

from attendance.models import Course


def _authenticated(user) -> bool:
    return user is not None and user.is_authenticated


class IsStaffOrLecturer(BasePermission):
    message = "Only staff and lecturers may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not _authenticated(user):
            return False
        return user.is_staff or Course.objects.filter(lecturers=user).exists()


class IsStaff(BasePermission):
    message = "Only staff may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request.user) and request.user.is_staff
