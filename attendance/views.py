from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from attendance import codes, registers, reports, selectors, sessions
from attendance.exports import csv_response
from attendance.models import AttendanceChange, AttendanceRecord, Course, NetworkSession, Student
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
    cards = dashboard_cards(request.user)
    if not cards and Student.objects.filter(user=request.user).exists():
        # A student's home is their own page, not courses they teach.
        return redirect("portal:me")
    context = {"cards": cards, "base_url": _base_url(request)}
    if request.htmx:
        # The fallback poll and htmx buttons swap the cards only.
        return render(request, "attendance/_cards.html", context)
    return render(request, "attendance/dashboard.html", context)


@login_required
@require_POST
def session_start(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _get_course_for_user(request, course_id)
    try:
        session, created = sessions.start_session(course=course, by=request.user)
    except Course.DoesNotExist:
        raise Http404("That course was deleted.") from None
    if request.htmx:
        return _card_response(request, course)
    if created:
        messages.success(
            request, f"Session started for {course.code}. Join code {session.join_code}."
        )
    else:
        messages.info(request, f"{course.code} already has a session running today.")
    return redirect("dashboard")


def _end_question(request: HttpRequest, session: NetworkSession) -> HttpResponse:
    """ "End session?", with how many would be marked absent, counted now."""
    context = {"session": session}
    if session.is_active:
        context["absent"] = selectors.absent_if_ended_now(session)
        context["enrolled"] = selectors.enrolled_counts([session.course_id]).get(
            session.course_id, 0
        )
    if request.htmx:
        if request.GET.get("keep"):
            return HttpResponse("")  # "Keep it running": the question goes away
        return render(request, "attendance/_end_confirm.html", context)
    return render(request, "attendance/end_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _get_session_for_user(request, session_id)
    if request.method == "GET":
        return _end_question(request, session)
    result = sessions.end_session(session=session, by=request.user)
    if request.htmx:
        # The card, and the question closed out of band.
        card = _card_response(request, session.course)
        card.content += b'<div id="dialog" aria-live="polite" hx-swap-oob="true"></div>'
        return card
    messages.success(
        request,
        f"Session ended for {session.course.code}: {result.present} present, "
        f"{result.late} late, {result.absent} absent.",
    )
    return redirect("dashboard")


@login_required
@require_GET
def session_projector(request: HttpRequest, session_id: int) -> HttpResponse:
    """The join code and its QR, full screen for the class, with a countdown to the next
    code. htmx refreshes the code block when the countdown runs out."""
    session = _get_session_for_user(request, session_id)
    counts = selectors.session_counts([session]).get(session.pk) if session.is_active else None
    expires = codes.expires_at(session) if session.is_active else None
    context = {
        "session": session,
        "counts": counts,
        "expires_at": expires,
        "seconds_left": max(0, int((expires - timezone.now()).total_seconds())) if expires else 0,
        "rotate_seconds": codes.rotation_seconds(),
        "base_url": _base_url(request),
    }
    template = "attendance/_projector.html" if request.htmx else "attendance/projector.html"
    return render(request, template, context)


@login_required
@require_POST
def sessions_refresh(request: HttpRequest) -> HttpResponse:
    if not selectors.user_runs_sessions(request.user):
        # A student's or the fees office's login may not end sessions school-wide.
        raise PermissionDenied("Only staff and lecturers may refresh sessions.")
    counts = sessions.refresh_active_sessions()
    if request.htmx:
        cards = render_to_string(
            "attendance/_cards.html",
            {"cards": dashboard_cards(request.user), "base_url": _base_url(request)},
            request=request,
        )
        # The result line rides along out of band, next to the button.
        result = render_to_string(
            "attendance/_refresh_result.html", {"counts": counts, "oob": True}, request=request
        )
        return HttpResponse(cards + result)
    messages.info(
        request,
        f"Sessions refreshed: {counts['expired']} expired, {counts['superseded']} superseded, "
        f"{counts['active']} active.",
    )
    return redirect("dashboard")


# --- session list and register ------------------------------------------------------------

SESSIONS_PER_PAGE = 25


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.sessions_for_user(request.user), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "attendance/session_list.html", {"page": page})


@login_required
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _get_session_for_user(request, session_id)
    records = session.records.select_related("student").order_by(
        "student__last_name", "student__first_name"
    )
    changes = (
        AttendanceChange.objects.filter(record__session=session)
        .select_related("record__student", "changed_by")
        .order_by("-changed_at")
    )
    return render(
        request,
        "attendance/session_detail.html",
        {
            "session": session,
            "records": records,
            "changes": changes,
            "statuses": AttendanceRecord.Status.choices,
        },
    )


@login_required
@require_POST
def record_mark(request: HttpRequest, session_id: int, record_id: int) -> HttpResponse:
    session = _get_session_for_user(request, session_id)
    record = get_object_or_404(
        AttendanceRecord.objects.select_related("student"), pk=record_id, session=session
    )
    try:
        registers.mark_attendance(
            record=record,
            status=request.POST.get("status", ""),
            by=request.user,
            reason=request.POST.get("reason", ""),
        )
    except registers.InvalidMark as exc:
        messages.error(request, f"{record.student.full_name}: {exc}")
    else:
        messages.success(
            request, f"{record.student.full_name} is now {record.get_status_display().lower()}."
        )
    return redirect("session-detail", session_id=session.pk)


@login_required
@require_POST
def records_mark(request: HttpRequest, session_id: int) -> HttpResponse:
    """Several students at once: one status and one reason, each change in the audit trail."""
    session = _get_session_for_user(request, session_id)
    raw_ids = request.POST.getlist("student")
    try:
        student_ids = sorted({int(value) for value in raw_ids})
    except ValueError:
        student_ids = []
    try:
        changed = registers.mark_many(
            session=session,
            student_ids=student_ids,
            status=request.POST.get("status", ""),
            by=request.user,
            reason=request.POST.get("reason", ""),
        )
    except registers.InvalidMark as exc:
        messages.error(request, str(exc))
    else:
        label = dict(AttendanceRecord.Status.choices)[request.POST["status"]].lower()
        messages.success(
            request,
            f"{len(changed)} student{'s' if len(changed) != 1 else ''} marked {label}"
            + (
                f" ({len(student_ids) - len(changed)} already were)."
                if len(changed) < len(student_ids)
                else "."
            ),
        )
    return redirect("session-detail", session_id=session.pk)


# --- course register and report ---------------------------------------------------------------


REGISTER_PAGE_SIZE = 50


def _chosen_month(raw: str | None, months: list[reports.Month]) -> tuple[reports.Month | None, str]:
    """The month asked for (YYYY-MM), else the latest with sessions; and a note if refused."""
    if not months:
        return None, ""
    if raw:
        found = next((m for m in months if m.key == raw), None)
        if found is not None:
            return found, ""
        return months[-1], f"No ended sessions in {raw[:7]!r}; showing the latest month."
    return months[-1], ""


@login_required
def course_register(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _get_course_for_user(request, course_id)
    sort = request.GET.get("sort", "name")
    if sort not in reports.SORTS:
        sort = "name"
    months = reports.register_months(course=course)
    month, month_note = _chosen_month(request.GET.get("month"), months)
    page = Paginator(reports.summary(course=course, sort=sort), REGISTER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    sessions = reports.month_sessions(course=course, month=month.starts_on) if month else []
    reports.fill_grid(rows=rows, sessions=sessions)
    context = {
        "course": course,
        "page": page,
        "rows": rows,
        "sort": sort,
        "months": months,
        "month": month,
        "month_note": month_note,
        "sessions": sessions,
        "chart": reports.session_chart(sessions=sessions) if sessions else None,
        "chart_legend": reports.CHART_LEGEND,
        "session_total": sum(m.sessions for m in months),
    }
    return render(request, "attendance/course_register.html", context)


@login_required
def course_register_csv(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _get_course_for_user(request, course_id)
    header, rows = reports.register_csv(course=course)
    return csv_response(f"register-{course.code}", header, rows)
