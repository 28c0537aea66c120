"""Student roster and fee pages. Thin: selectors read, payments/ledger.py writes."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from attendance.models import Course, Enrollment, Student
from attendance.reports import csv_safe
from attendance.selectors import courses_for_user, search_students
from payments import ledger
from payments.forms import AdjustmentForm, PaymentForm, StudentFilterForm, VoidPaymentForm
from payments.models import Payment, Term
from payments.permissions import (
    can_adjust_charges,
    can_record_payments,
    can_view_fees,
    can_void_payments,
)
from payments.selectors import (
    active_term,
    annotate_attendance,
    annotate_fees,
    attendance_by_course,
    fee_summary,
    filter_fee_status,
    statement,
    students_for_user,
)
from payments.templatetags.money import money

STUDENTS_PER_PAGE = 25


def _courses_for_filter(user) -> QuerySet[Course]:
    if user.is_staff or can_view_fees(user):
        return Course.objects.all()
    return courses_for_user(user)


def _get_student_for_user(request: HttpRequest, student_id: int) -> Student:
    return get_object_or_404(students_for_user(request.user), pk=student_id)


def _filtered_students(request: HttpRequest):
    """The list the page shows and the CSV exports: same filters, same rows."""
    show_fees = can_view_fees(request.user)
    form = StudentFilterForm(
        request.GET or None, courses=_courses_for_filter(request.user), show_fees=show_fees
    )
    students = students_for_user(request.user)
    term = active_term() if show_fees else None
    if form.is_valid():
        students = search_students(students, text=form.cleaned_data["q"])
        course = form.cleaned_data["course"]
        if course is not None:
            students = students.filter(
                pk__in=Enrollment.objects.filter(course=course).values("student_id")
            )
    students = annotate_attendance(students)
    if term is not None:
        students = annotate_fees(students, term=term)
        status = form.cleaned_data.get("status") if form.is_valid() else ""
        if status:
            students = filter_fee_status(students, status=status)
    return form, students.order_by("last_name", "first_name", "student_number"), term, show_fees


@login_required
def student_list(request: HttpRequest) -> HttpResponse:
    form, students, term, show_fees = _filtered_students(request)
    page = Paginator(students, STUDENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "term": term,
        "show_fees": show_fees,
        "filters": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    }
    if request.htmx and request.htmx.target == "student-results":
        return render(request, "payments/_student_results.html", context)
    return render(request, "payments/student_list.html", context)


@login_required
def student_export(request: HttpRequest) -> HttpResponse:
    _form, students, term, _show_fees = _filtered_students(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="students.csv"'
    writer = csv.writer(response)
    header = ["student_number", "first_name", "last_name", "active", "attendance_percent"]
    if term is not None:
        header += ["term", "charged", "paid", "balance", "status"]
    writer.writerow(header)
    for s in students.iterator(chunk_size=500):
        row = [
            csv_safe(s.student_number),
            csv_safe(s.first_name),
            csv_safe(s.last_name),
            "yes" if s.is_active else "no",
            "" if s.attendance_percent is None else f"{s.attendance_percent:.1f}",
        ]
        if term is not None:
            # Amounts are numbers we formatted, so a leading minus (a credit) stays a number.
            row += [
                csv_safe(str(term)),
                f"{s.fee_charged:.2f}",
                f"{s.fee_paid:.2f}",
                f"{s.fee_balance:.2f}",
                s.fee_status,
            ]
        writer.writerow(row)
    return response


def _term_for_detail(request: HttpRequest) -> Term | None:
    term_id = request.GET.get("term") or request.POST.get("term")
    if term_id and str(term_id).isdigit():
        found = Term.objects.filter(pk=term_id).first()
        if found is not None:
            return found
    return active_term() or Term.objects.first()


def _fees_context(
    request: HttpRequest,
    student: Student,
    term: Term | None,
    form=None,
    adjustment_form=None,
) -> dict:
    context = {
        "student": student,
        "term": term,
        "can_record": False,
        "can_void": can_void_payments(request.user),
    }
    if term is None:
        return context
    context["summary"] = fee_summary(student=student, term=term)
    context["lines"] = statement(student=student, term=term)
    context["terms"] = Term.objects.all()
    if can_record_payments(request.user):
        context["can_record"] = True
        context["form"] = form or PaymentForm(term=term)
    if can_adjust_charges(request.user):
        context["adjustment_form"] = adjustment_form or AdjustmentForm(term=term)
    return context


@login_required
def student_detail(request: HttpRequest, student_id: int) -> HttpResponse:
    student = _get_student_for_user(request, student_id)
    show_fees = can_view_fees(request.user)
    courses = None if show_fees or request.user.is_staff else courses_for_user(request.user)
    context = {
        "student": student,
        "show_fees": show_fees,
        "attendance": attendance_by_course(student=student, courses=courses),
    }
    if show_fees:
        context.update(_fees_context(request, student, _term_for_detail(request)))
    return render(request, "payments/student_detail.html", context)


@login_required
@require_POST
def payment_record(request: HttpRequest, student_id: int) -> HttpResponse:
    if not can_record_payments(request.user):
        raise PermissionDenied("You may not record payments.")
    student = _get_student_for_user(request, student_id)
    form = PaymentForm(request.POST)
    payment = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = ledger.record_payment(
                student=student,
                term=data["term"],
                amount=data["amount"],
                method=data["method"],
                reference=data["reference"],
                received_at=data["received_at"],
                note=data["note"],
                idempotency_key=data["idempotency_key"],
                by=request.user,
            )
        except ledger.DuplicateReference as exc:
            form.add_error("reference", exc.message)
        except ledger.LedgerError as exc:
            form.add_error("amount" if exc.code == "invalid_amount" else None, exc.message)
        else:
            payment = result.payment
            receipt = reverse("payments:payment-receipt", args=[payment.pk])
            if result.created:
                text = "Payment {} of {} recorded."
            else:
                text = "Payment {} of {} was already recorded (the form was sent twice)."
            messages.success(
                request,
                format_html(
                    text + ' <a href="{}">Print the receipt</a>',
                    payment.reference,
                    money(payment.amount),
                    receipt,
                ),
            )
            if not request.htmx:
                return redirect(
                    f"{reverse('payments:student-detail', args=[student.pk])}"
                    f"?term={payment.term_id}"
                )
            form = None
    term = payment.term if payment else (form.cleaned_data.get("term") if form else None)
    context = _fees_context(request, student, term or _term_for_detail(request), form=form)
    context["show_fees"] = True
    if request.htmx:
        context["partial"] = True  # the page's own message list is not swapped in
        return render(request, "payments/_fees.html", context)
    context["attendance"] = attendance_by_course(student=student)
    return render(request, "payments/student_detail.html", context, status=400)


@login_required
def payment_receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    if not can_view_fees(request.user):
        raise PermissionDenied("You may not see fee data.")
    payment = get_object_or_404(
        Payment.objects.select_related("student", "term", "recorded_by", "reversal"),
        pk=payment_id,
    )
    return render(request, "payments/receipt.html", {"payment": payment})


@login_required
@require_POST
def payment_void(request: HttpRequest, payment_id: int) -> HttpResponse:
    if not can_void_payments(request.user):
        raise PermissionDenied("You may not void payments.")
    payment = get_object_or_404(Payment.objects.select_related("student", "term"), pk=payment_id)
    form = VoidPaymentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for voiding the payment; nothing was changed.")
    else:
        try:
            ledger.void_payment(
                payment=payment, reason=form.cleaned_data["reason"], by=request.user
            )
        except ledger.LedgerError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Payment {payment.reference} voided.")
    if request.htmx:
        # The partial carries the message, whether the void was made or refused.
        context = _fees_context(request, payment.student, payment.term)
        context["show_fees"] = True
        context["partial"] = True  # the page's own message list is not swapped in
        return render(request, "payments/_fees.html", context)
    return redirect(
        f"{reverse('payments:student-detail', args=[payment.student_id])}?term={payment.term_id}"
    )


@login_required
@require_POST
def adjustment_add(request: HttpRequest, student_id: int) -> HttpResponse:
    if not can_adjust_charges(request.user):
        raise PermissionDenied("You may not adjust charges.")
    student = _get_student_for_user(request, student_id)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            charge = ledger.add_adjustment(
                student=student,
                term=data["term"],
                kind=data["kind"],
                amount=data["amount"],
                reason=data["reason"],
                by=request.user,
            )
        except ledger.LedgerError as exc:
            form.add_error("amount" if exc.code == "invalid_amount" else None, exc.message)
        else:
            messages.success(
                request, f"{charge.get_kind_display()} of {money(abs(charge.amount))} added."
            )
            detail = reverse("payments:student-detail", args=[student.pk])
            if not request.htmx:
                return redirect(f"{detail}?term={charge.term_id}")
            context = _fees_context(request, student, charge.term)
            context.update(show_fees=True, partial=True)
            return render(request, "payments/_fees.html", context)
    term = form.cleaned_data.get("term") or _term_for_detail(request)
    context = _fees_context(request, student, term, adjustment_form=form)
    context["show_fees"] = True
    if request.htmx:
        context["partial"] = True
        return render(request, "payments/_fees.html", context)
    context["attendance"] = attendance_by_course(student=student)
    return render(request, "payments/student_detail.html", context, status=400)
