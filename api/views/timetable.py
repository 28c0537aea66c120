"""The caller's timetable, for apps: their week, and their next class.

A lecturer's week holds the courses they teach, a student's the courses they
are enrolled in (both, for someone who is both). Staff may call it too.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from api import schema
from api.access import validated
from api.permissions import HasTimetable
from api.serializers import timetable as serializers
from timetable import selectors
from timetable.schedule import PlannedClass, Status, local_date

TAGS = ["timetable"]


def _class(planned: PlannedClass) -> dict:
    note = ""
    if planned.status == Status.CANCELLED:
        note = planned.occurrence.reason
    elif planned.status == Status.CLOSED:
        note = planned.closure.name
    return {
        "course": planned.course,
        "date": planned.date,
        "starts_at": planned.local_start,
        "ends_at": planned.local_end,
        "opens_at": planned.opens_at if planned.auto_start else None,
        "room": planned.room,
        "status": planned.status,
        "session": planned.session.pk if planned.session is not None else None,
        "note": note,
    }


@extend_schema(
    tags=TAGS,
    summary="The caller's classes in one week (Monday to Sunday)",
    parameters=[serializers.WeekQuerySerializer],
    responses={200: serializers.WeekSerializer, **schema.errors(400, 401, 403)},
)
@api_view(["GET"])
@permission_classes([HasTimetable])
def week(request: Request) -> Response:
    query = validated(serializers.WeekQuerySerializer, request.query_params.dict())
    now = timezone.now()
    found = selectors.week_of(
        courses=selectors.own_courses(request.user),
        day=query.get("date") or local_date(now),
        now=now,
    )
    body = {
        "week_start": found.start,
        "week_end": found.end,
        "classes": [_class(planned) for planned in found.classes],
    }
    return Response(serializers.WeekSerializer(body).data)


@extend_schema(
    tags=TAGS,
    summary="The caller's class running now, else their next one",
    responses={200: serializers.NextClassSerializer, **schema.errors(401, 403)},
)
@api_view(["GET"])
@permission_classes([HasTimetable])
def next_class(request: Request) -> Response:
    found = selectors.next_class(courses=selectors.own_courses(request.user), now=timezone.now())
    body = {"next": _class(found) if found is not None else None}
    return Response(serializers.NextClassSerializer(body).data)
