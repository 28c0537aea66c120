"""The student roster as the caller may see it, with fees for those allowed to see them."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied

from api import schema
from api.access import validated
from api.pagination import Pagination
from api.permissions import MaySeeStudents
from api.serializers import students as serializers
from attendance.models import Student
from attendance.selectors import search_students
from payments.permissions import can_view_fees
from payments.selectors import (
    active_term,
    annotate_fees,
    filter_fee_status,
    students_for_user,
)


@extend_schema(
    tags=["students"],
    summary="Students, with balance and status for the active term",
    description="Staff and the fees office see every student, a lecturer those in their "
    "courses. `balance` and `status` appear only for those who may see fees.",
    parameters=[serializers.StudentFilterSerializer],
    responses={200: serializers.StudentSerializer(many=True), **schema.errors(400, 401, 403, 404)},
)
class StudentList(generics.ListAPIView):
    permission_classes = [MaySeeStudents]
    serializer_class = serializers.StudentSerializer
    pagination_class = Pagination

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "fees": can_view_fees(self.request.user)}

    def get_queryset(self):
        query = validated(serializers.StudentFilterSerializer, self.request.query_params.dict())
        user = self.request.user
        fees = can_view_fees(user)
        students = students_for_user(user)
        students = search_students(students, text=query.get("search", ""))
        if query.get("course") is not None:
            students = students.filter(
                pk__in=Student.objects.filter(courses__pk=query["course"]).values("pk")
            )
        if query.get("active") is not None:
            students = students.filter(is_active=query["active"])
        term = active_term() if fees else None
        if term is not None:
            students = annotate_fees(students, term=term)
        if query.get("status"):
            if not fees:
                raise PermissionDenied("Only those who may see fees can filter by fee status.")
            # Without an active term no student has a status to match.
            if term is None:
                students = students.none()
            else:
                students = filter_fee_status(students, term=term, status=query["status"])
        return students.prefetch_related("courses").order_by(
            "last_name", "first_name", "student_number"
        )
