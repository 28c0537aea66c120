"""Class sessions: refresh, status, start, end and the register."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from api import schema
from api.access import course_for_user, session_for_user, validated
from api.permissions import IsStaffOrLecturer
from api.serializers import sessions as serializers
from api.serializers.fields import EmptySerializer
from attendance import sessions
from attendance.models import AttendanceRecord, Course, NetworkSession
from attendance.selectors import (
    active_sessions_by_course,
    session_counts,
)

TAGS = ["sessions"]


def _live(session: NetworkSession | None) -> dict | None:
    if session is None:
        return None
    counts = session_counts([session])[session.pk]
    elapsed = (timezone.now() - session.started_at).total_seconds()
    return {
        "id": session.pk,
        "started_at": session.started_at,
        "duration_seconds": max(0, int(elapsed)),
        **counts.as_dict(),
    }


@extend_schema(
    tags=TAGS,
    summary="End expired sessions and superseded duplicates",
    description="Staff and lecturers. Runs the same sweep as `manage.py cleanup_sessions`.",
    request=EmptySerializer,
    responses={200: serializers.RefreshSerializer, **schema.errors(400, 401, 403, 413, 415)},
)
@api_view(["POST"])
@permission_classes([IsStaffOrLecturer])
def sessions_refresh(request: Request) -> Response:
    validated(EmptySerializer, request.data)
    counts = sessions.refresh_active_sessions()
    return Response(serializers.RefreshSerializer(counts).data)


@extend_schema(
    tags=TAGS,
    summary="Whether a course has an active session, with its live counts",
    parameters=[serializers.SessionStatusQuerySerializer],
    responses={200: serializers.SessionStatusSerializer, **schema.errors(400, 401, 403, 404)},
)
@api_view(["GET"])
@permission_classes([IsStaffOrLecturer])
def session_status(request: Request) -> Response:
    query = validated(serializers.SessionStatusQuerySerializer, request.query_params.dict())
    course = course_for_user(request.user, query["course_id"])
    session = active_sessions_by_course([course.pk]).get(course.pk)
    body = {"course": course, "active": session is not None, "session": _live(session)}
    return Response(serializers.SessionStatusSerializer(body).data)


@extend_schema(
    tags=TAGS,
    summary="Start a course's session today, or return the one already running",
    request=serializers.SessionStartSerializer,
    responses={
        201: OpenApiResponse(serializers.StartedSessionSerializer, description="Started now."),
        200: OpenApiResponse(
            serializers.StartedSessionSerializer, description="Already running today."
        ),
        **schema.errors(400, 401, 403, 404, 413, 415),
    },
)
@api_view(["POST"])
@permission_classes([IsStaffOrLecturer])
def session_start(request: Request) -> Response:
    data = validated(serializers.SessionStartSerializer, request.data)
    course = course_for_user(request.user, data["course_id"])
    try:
        session, created = sessions.start_session(course=course, by=request.user)
    except Course.DoesNotExist:
        raise Http404("No such course.") from None
    body = {**_live(session), "course": course, "join_code": session.join_code}
    return Response(serializers.StartedSessionSerializer(body).data, status=201 if created else 200)


@extend_schema(
    tags=TAGS,
    summary="End a session and write its register (idempotent)",
    description="Ending an ended session changes nothing and returns the same body.",
    request=EmptySerializer,
    responses={
        200: serializers.SessionEndSerializer,
        **schema.errors(400, 401, 403, 404, 413, 415),
    },
)
@api_view(["POST"])
@permission_classes([IsStaffOrLecturer])
def session_end(request: Request, session_id: int) -> Response:
    validated(EmptySerializer, request.data)
    session = session_for_user(request.user, session_id)
    result = sessions.end_session(session=session, by=request.user)
    body = {
        "id": result.session_id,
        "ended_at": result.ended_at,
        "reason": result.reason,
        "present": result.present,
        "late": result.late,
        "absent": result.absent,
        "excused": result.excused,
    }
    return Response(serializers.SessionEndSerializer(body).data)


@extend_schema(
    tags=TAGS,
    summary="A session's register",
    description="One row per enrolled student, written when the session ends; "
    "empty while it is still running.",
    responses={
        200: serializers.AttendanceRowSerializer(many=True),
        **schema.errors(401, 403, 404),
    },
)
@api_view(["GET"])
@permission_classes([IsStaffOrLecturer])
def session_attendance(request: Request, session_id: int) -> Response:
    session = session_for_user(request.user, session_id)
    records = AttendanceRecord.objects.filter(session=session).select_related("student")
    return Response(serializers.AttendanceRowSerializer(records, many=True).data)
