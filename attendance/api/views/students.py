"""The student roster as the caller may see it."""

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from attendance.api import schema, serializers
from attendance.api.access import validated
from attendance.api.pagination import Pagination
from attendance.api.permissions import IsStaffOrLecturer
from attendance.models import Student


@extend_schema(
    tags=["students"],
    summary="Students: all for staff, those in their courses for a lecturer",
    parameters=[serializers.StudentFilterSerializer],
    responses={200: serializers.StudentSerializer(many=True), **schema.errors(400, 401, 403, 404)},
)
class StudentList(generics.ListAPIView):
    permission_classes = [IsStaffOrLecturer]
    serializer_class = serializers.StudentSerializer
    pagination_class = Pagination

    def get_queryset(self):
        query = validated(serializers.StudentFilterSerializer, self.request.query_params.dict())
        user = self.request.user
        students = Student.objects.all()
        if not user.is_staff:
            students = students.filter(
                pk__in=Student.objects.filter(courses__lecturers=user).values("pk")
            )
        if query.get("search"):
            term = query["search"].strip()
            students = students.filter(
                Q(student_number__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(email__icontains=term)
            )
        if query.get("course") is not None:
            students = students.filter(
                pk__in=Student.objects.filter(courses__pk=query["course"]).values("pk")
            )
        if query.get("active") is not None:
            students = students.filter(is_active=query["active"])
        return students.prefetch_related("courses").order_by(
            "last_name", "first_name", "student_number"
        )
