"""Courses: the caller's list, and a course's sessions with their register totals."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from api import schema
from api.access import course_for_user
from api.pagination import Pagination
from api.permissions import IsStaffOrLecturer
from api.serializers import courses as serializers
from attendance.selectors import courses_for_user, sessions_for_user


@extend_schema(
    tags=["sessions"],
    summary="A course's sessions, newest first, with their register totals",
    responses={200: serializers.CourseSessionSerializer(many=True), **schema.errors(401, 403, 404)},
)
class CourseSessionList(generics.ListAPIView):
    permission_classes = [IsStaffOrLecturer]
    serializer_class = serializers.CourseSessionSerializer
    pagination_class = Pagination

    def get_queryset(self):
        course = course_for_user(self.request.user, self.kwargs["course_id"])
        return sessions_for_user(self.request.user).filter(course=course)


@extend_schema(
    tags=["courses"],
    summary="The caller's courses: all for staff, their own for a lecturer",
    responses={200: serializers.CourseSerializer(many=True), **schema.errors(401, 403, 404)},
)
class CourseList(generics.ListAPIView):
    permission_classes = [IsStaffOrLecturer]
    serializer_class = serializers.CourseSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return courses_for_user(self.request.user).order_by("code")
