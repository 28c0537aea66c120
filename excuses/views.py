"""Excuse request pages: the student's form and list, the lecturers' queue and
decision page, and the one door to attachments. Thin: excuses/submissions.py
and excuses/decisions.py hold the rules, excuses/selectors.py the reads.

A request of another course, or another student's, answers 404, as everywhere.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from attendance.models import AttendanceRecord, Student
from excuses import selectors, submissions
from excuses.decisions import DecisionRefused, decide_excuse
from excuses.forms import DecisionForm, ExcuseForm
from excuses.models import ExcuseRequest

PER_PAGE = 25


def _own_student(request: HttpRequest) -> Student:
    """The signed-in student, or 404 for a login that is not a student's."""
    student = selectors.student_of(request.user)
    if student is None:
        raise Http404("Only students have excuse requests.")
    return student


def _reviewable(request: HttpRequest, excuse_id: int) -> ExcuseRequest:
    return get_object_or_404(
        selectors.reviewable(request.user).select_related(
            "student", "course", "record__session", "decided_by"
        ),
        pk=excuse_id,
    )


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if not selectors.may_review(request.user):
        raise PermissionDenied("Only a course's lecturers and staff review excuse requests.")
    page = Paginator(selectors.queue(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "excuses/queue.html", {"page": page})


@login_required
@require_GET
def detail(request: HttpRequest, excuse_id: int) -> HttpResponse:
    excuse = _reviewable(request, excuse_id)
    return render(request, "excuses/detail.html", {"excuse": excuse, "form": DecisionForm()})


@login_required
@require_POST
def decide(request: HttpRequest, excuse_id: int) -> HttpResponse:
    excuse = _reviewable(request, excuse_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decide_excuse(
                excuse=excuse,
                approve=form.cleaned_data["decision"] == "approve",
                by=request.user,
                comment=form.cleaned_data["comment"],
            )
        except DecisionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Request #{excuse.pk} {excuse.get_state_display().lower()}; the student is told.",
            )
            return redirect("excuses:detail", excuse.pk)
    excuse.refresh_from_db()
    return render(request, "excuses/detail.html", {"excuse": excuse, "form": form}, status=400)


@login_required
@require_GET
@never_cache
def attachment(request: HttpRequest, excuse_id: int) -> FileResponse:
    """The attachment as a download, to its student, the course's lecturers and staff."""
    excuse = get_object_or_404(selectors.attachment_readable(request.user), pk=excuse_id)
    if not excuse.attachment:
        raise Http404("This request has no attachment.")
    try:
        handle = excuse.attachment.open("rb")
    except FileNotFoundError:
        raise Http404("The attachment's file is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=excuse.attachment_name or f"excuse-{excuse.pk}",
        content_type=excuse.attachment_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    student = _own_student(request)
    page = Paginator(selectors.own(student), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "excuses/mine.html", {"page": page})


@login_required
def new(request: HttpRequest, record_id: int) -> HttpResponse:
    student = _own_student(request)
    record = get_object_or_404(
        AttendanceRecord.objects.select_related("session__course"), pk=record_id, student=student
    )
    refused = submissions.refusal(record=record, today=timezone.localdate())
    if not refused and selectors.pending_for(record):
        refused = submissions.ALREADY_PENDING
    status = 200
    if request.method == "POST":
        form = ExcuseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                submissions.submit_excuse(
                    record=record,
                    student=student,
                    reason=form.cleaned_data["reason"],
                    attachment=form.cleaned_data["attachment"],
                )
            except submissions.ExcuseRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Request sent; your lecturer is told.")
                return redirect("excuses:mine")
        status = 400
    else:
        form = ExcuseForm()
    context = {
        "record": record,
        "form": form,
        "refused": refused,
        "window_days": settings.EXCUSE_WINDOW_DAYS,
        "last_day": submissions.last_day(record.session.date),
    }
    return render(request, "excuses/new.html", context, status=status)
