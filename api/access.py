"""Per-object access for the API, on the same rule as the pages (attendance.selectors).

An id that does not exist is 404; one that exists but belongs to another
lecturer's course is 403, as DESIGN §5 asks of the status endpoint. Either
way, no data of that object is returned.
"""

from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from attendance.models import Course, NetworkSession
from attendance.selectors import user_can_manage_course


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError(serializer.errors)
    return serializer.validated_data


def course_for_user(user, course_id: int) -> Course:
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise NotFound("No such course.")
    if not user_can_manage_course(user, course):
        raise PermissionDenied("This is not one of your courses.")
    return course


def session_for_user(user, session_id: int) -> NetworkSession:
    session = NetworkSession.objects.select_related("course").filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    if not user_can_manage_course(user, session.course):
        raise PermissionDenied("This session is not one of your courses'.")
    return session
