"""The report pages: a student's attendance, and the at-risk lists with their exports.

Thin: permissions from reports/permissions.py, reads from reports/selectors.py.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from attendance.exports import csv_response, xlsx_response
from attendance.models import Course, Student
from reports import permissions, selectors
from reports.trend import trend_chart

SESSIONS_PER_PAGE = 25
AT_RISK_PER_PAGE = 50


@login_required
@require_GET
def student_attendance(request: HttpRequest, student_id: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=student_id)
    courses = list(permissions.student_report_courses(request.user, student).order_by("code", "pk"))
    if not courses and not permissions.may_see_student(request.user, student):
        raise Http404("No such student.")
    period = selectors.trend_period()
    records = selectors.trend_records(student=student, courses=courses, period=period)
    page = Paginator(
        selectors.student_records(student=student, courses=courses), SESSIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    context = {
        "student": student,
        "lines": selectors.course_lines(student=student, courses=courses),
        "chart": trend_chart(
            courses=courses, records=records, starts_on=period.starts_on, ends_on=period.ends_on
        ),
        "period": period,
        "page": page,
    }
    return render(request, "reports/student_attendance.html", context)


def _course_for_user(request: HttpRequest, course_id: int) -> Course:
    """The course if the user may read its reports; 404 otherwise, so ids do not leak."""
    return get_object_or_404(permissions.reportable_courses(request.user), pk=course_id)


@login_required
@require_GET
def course_at_risk(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for_user(request, course_id)
    page = Paginator(
        selectors.at_risk(courses=Course.objects.filter(pk=course.pk)), AT_RISK_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(request, "reports/course_at_risk.html", {"course": course, "page": page})


def _course_export(request: HttpRequest, course_id: int, kind: str) -> HttpResponse:
    course = _course_for_user(request, course_id)
    rows = selectors.at_risk_rows(selectors.at_risk(courses=Course.objects.filter(pk=course.pk)))
    stem = f"at-risk-{course.code}"
    if kind == "xlsx":
        return xlsx_response(stem, selectors.EXPORT_HEADER, rows, sheet="At risk")
    return csv_response(stem, selectors.EXPORT_HEADER, rows)


@login_required
@require_GET
def course_at_risk_csv(request: HttpRequest, course_id: int) -> HttpResponse:
    return _course_export(request, course_id, "csv")


@login_required
@require_GET
def course_at_risk_xlsx(request: HttpRequest, course_id: int) -> HttpResponse:
    return _course_export(request, course_id, "xlsx")


def _school_standings(request: HttpRequest):
    """Every course's rows for staff and the office, a lecturer's own; 403 for others."""
    scope = permissions.school_list_scope(request.user)
    if scope is None:
        raise PermissionDenied("Only staff, the office and lecturers see students at risk.")
    if scope == permissions.EVERY_COURSE:
        return selectors.at_risk(), True
    return selectors.at_risk(courses=Course.objects.filter(lecturers=request.user)), False


@login_required
@require_GET
def school_at_risk(request: HttpRequest) -> HttpResponse:
    standings, everyone = _school_standings(request)
    page = Paginator(standings, AT_RISK_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reports/school_at_risk.html", {"page": page, "everyone": everyone})


def _school_export(request: HttpRequest, kind: str) -> HttpResponse:
    standings, _everyone = _school_standings(request)
    rows = selectors.at_risk_rows(standings)
    stem = f"at-risk-{timezone.localdate():%Y-%m-%d}"
    if kind == "xlsx":
        return xlsx_response(stem, selectors.EXPORT_HEADER, rows, sheet="At risk")
    return csv_response(stem, selectors.EXPORT_HEADER, rows)


@login_required
@require_GET
def school_at_risk_csv(request: HttpRequest) -> HttpResponse:
    return _school_export(request, "csv")


@login_required
@require_GET
def school_at_risk_xlsx(request: HttpRequest) -> HttpResponse:
    return _school_export(request, "xlsx")
