"""The lecturer's analytics: a course's charts, and one session's devices over time.

Thin: stats.py reads, charts.py lays out, the templates write the SVG. The
same permission as the register: a course's lecturers and staff; anyone else
gets a 404, so course and session ids do not leak.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from analytics import charts, stats
from attendance.models import NetworkSession
from attendance.selectors import courses_for_user


@login_required
@require_GET
def course_analytics(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(courses_for_user(request.user), pk=course_id)
    everything = request.GET.get("range") == "all"
    period = stats.period_for(everything=everything)
    rates = stats.session_rates(course=course, period=period)
    bins = stats.arrival_histogram(course=course, period=period) if rates else []
    slots = stats.weekday_hour_rates(course=course, period=period) if rates else []
    context = {
        "course": course,
        "period": period,
        "everything": everything,
        "rates": charts.rate_chart(rates) if rates else None,
        "arrivals": charts.arrival_chart(bins) if bins else None,
        "heat": charts.heat_map(slots),
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "analytics/course.html", context)


@login_required
@require_GET
def session_timeline(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(NetworkSession.objects.select_related("course"), pk=session_id)
    if not courses_for_user(request.user).filter(pk=session.course_id).exists():
        raise Http404("No such session.")
    steps = stats.connected_timeline(session=session)
    context = {
        "session": session,
        "course": session.course,
        "chart": charts.step_chart(steps),
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "analytics/timeline.html", context)
