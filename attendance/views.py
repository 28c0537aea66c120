from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from attendance import sessions
from attendance.models import Course, NetworkSession
from attendance.selectors import course_cards, courses_for_user, dashboard_cards


def _get_course_for_user(request: HttpRequest, course_id: int) -> Course:
    """The course if the user teaches it (or is staff); 404 otherwise, so ids do not leak."""
    return get_object_or_404(courses_for_user(request.user), pk=course_id)


def _get_session_for_user(request: HttpRequest, session_id: int) -> NetworkSession:
    session = get_object_or_404(NetworkSession.objects.select_related("course"), pk=session_id)
    if not courses_for_user(request.user).filter(pk=session.course_id).exists():
        raise Http404("No such session.")
    return session


def _base_url(request: HttpRequest) -> str:
    """This site's address as the browser sees it, for the device page's QR."""
    return request.build_absolute_uri("/").rstrip("/")


def _card_response(request: HttpRequest, course: Course) -> HttpResponse:
    [card] = course_cards(courses=Course.objects.filter(pk=course.pk))
    return render(
        request,
        "attendance/_course_card.html",
        {"card": card, "base_url": _base_url(request), "oob": False},
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {"cards": dashboard_cards(request.user), "base_url": _base_url(request)}
    if request.htmx:
        # The fallback poll and htmx buttons swap the cards only.
        return render(request, "attendance/_cards.html", context)
    return render(request, "attendance/dashboard.html", context)


@login_required
@require_POST
def session_start(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _get_course_for_user(request, course_id)
    session, created = sessions.start_session(course=course, by=request.user)
    if request.htmx:
        return _card_response(request, course)
    if created:
        messages.success(
            request, f"Session started for {course.code}. Join code {session.join_code}."
        )
    else:
        messages.info(request, f"{course.code} already has a session running today.")
    return redirect("dashboard")


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _get_session_for_user(request, session_id)
    result = sessions.end_session(session=session, by=request.user)
    if request.htmx:
        return _card_response(request, session.course)
    messages.success(
        request,
        f"Session ended for {session.course.code}: {result.present} present, "
        f"{result.late} late, {result.absent} absent.",
    )
    return redirect("dashboard")


@login_required
@require_POST
def sessions_refresh(request: HttpRequest) -> HttpResponse:
    counts = sessions.refresh_active_sessions()
    if request.htmx:
        return render(
            request,
            "attendance/_cards.html",
            {"cards": dashboard_cards(request.user), "base_url": _base_url(request)},
        )
    messages.info(
        request,
        f"Sessions refreshed: {counts['expired']} expired, {counts['superseded']} superseded, "
        f"{counts['active']} active.",
    )
    return redirect("dashboard")
