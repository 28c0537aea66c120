"""Student roster and fee pages. Thin: selectors read, payments/ledger.py writes."""

from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from attendance.exports import csv_response, xlsx_response
from attendance.models import AttendanceRecord, Course, Enrollment, Student
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
    order_students,
    statement,
    students_for_user,
)
from payments.templatetags.money import money
from payments.totals import collection_chart, term_totals

STUDENTS_PER_PAGE = 25


def _courses_for_filter(user) -> QuerySet[Course]:
    if user.is_staff or can_view_fees(user):
        return Course.objects.all()
    return courses_for_user(user)


def _get_student_for_user(request: HttpRequest, student_id: int) -> Student:
    return get_object_or_404(students_for_user(request.user), pk=student_id)


def _filtered_students(request: HttpRequest):
    """The list the page shows and the exports download: same filters, same order."""
    show_fees = can_view_fees(request.user)
    form = StudentFilterForm(
        request.GET or None, courses=_courses_for_filter(request.user), show_fees=show_fees
    )
    students = students_for_user(request.user)
    term = active_term() if show_fees else None
    data = form.cleaned_data if form.is_valid() else {}
    students = search_students(students, text=data.get("q", ""))
    if data.get("course") is not None:
        students = students.filter(
            pk__in=Enrollment.objects.filter(course=data["course"]).values("student_id")
        )
    if term is not None:
        students = annotate_fees(students, term=term)
        if data.get("status"):
            students = filter_fee_status(students, term=term, status=data["status"])
    sort = data.get("sort") or "name"
    if term is None and sort.endswith("balance"):
        sort = "name"
    return form, order_students(students, sort=sort), term, show_fees


@login_required
def student_list(request: HttpRequest) -> HttpResponse:
    form, students, term, show_fees = _filtered_students(request)
    page = Paginator(annotate_attendance(students), STUDENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "term": term,
        "show_fees": show_fees,
        "filters": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
    }
    if request.htmx and request.htmx.target == "student-results":
        return render(request, "payments/_student_results.html", context)
    if term is not None:
        today = timezone.localdate()
        context["totals"] = term_totals(term=term, today=today)
        context["chart"] = collection_chart(term=term, today=today)
    return render(request, "payments/student_list.html", context)


def _cents(value) -> Decimal:
    # SQLite hands sums back as floats or integers; the file always shows cents.
    return (Decimal(str(value)) + 0).quantize(Decimal("0.01"))


def _export_rows(request: HttpRequest) -> tuple[str, list[str], Iterator[tuple]]:
    """The filtered students as value rows: the header, and the rows read in chunks.

    Attendance comes from one grouped query over the chosen students' records,
    not a subquery per row; the rows themselves stream from the database.
    """
    _form, students, term, _show_fees = _filtered_students(request)
    S = AttendanceRecord.Status
    counts = {
        student_id: (total, attended)
        for student_id, total, attended in AttendanceRecord.objects.filter(
            student_id__in=students.values("pk")
        )
        .exclude(status=S.EXCUSED)
        .order_by()
        .values("student_id")
        .annotate(total=Count("pk"), attended=Count("pk", filter=Q(status__in=[S.PRESENT, S.LATE])))
        .values_list("student_id", "total", "attended")
    }

    def percent(student_id: int) -> str:
        total, attended = counts.get(student_id, (0, 0))
        return f"{attended * 100 / total:.1f}" if total else ""

    header = ["student_number", "first_name", "last_name", "active", "attendance_percent"]
    names = ["pk", "student_number", "first_name", "last_name", "is_active"]
    if term is not None:
        header += ["term", "charged", "paid", "balance", "status", "due_on"]
        names += ["fee_charged", "fee_paid", "fee_balance", "fee_status", "fee_due_on"]
    values = students.values_list(*names).iterator(chunk_size=2000)

    def rows() -> Iterator[tuple]:
        for pk, number, first, last, active, *fees in values:
            row = (number, first, last, active, percent(pk))
            if term is not None:
                charged, paid, balance, status, due_on = fees
                # Amounts stay numbers, so a credit keeps its minus sign here.
                row += (str(term), _cents(charged), _cents(paid), _cents(balance), status, due_on)
            yield row

    return ("students" if term is None else f"students-{term}"), header, rows()


@login_required
def student_export(request: HttpRequest) -> HttpResponse:
    stem, header, rows = _export_rows(request)
    return csv_response(stem, header, rows)


@login_required
def student_export_xlsx(request: HttpRequest) -> HttpResponse:
    stem, header, rows = _export_rows(request)
    return xlsx_response(stem, header, rows, sheet="Students")


def _term_for_detail(request: HttpRequest) -> Term | None:
    term_id = request.GET.get("term") or request.POST.get("term")
    # isascii: "²".isdigit() is true, and the look-up refuses it (a 500).
    if term_id and str(term_id).isascii() and str(term_id).isdigit():
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
    """A payment's receipt: for those who see fee data, and for the student who paid
    (their own receipts only; anyone else's answers 403, as for any other user)."""
    payments = Payment.objects.select_related("student", "term", "recorded_by", "reversal")
    if can_view_fees(request.user):
        payment = get_object_or_404(payments, pk=payment_id)
        back_url = (
            reverse("payments:student-detail", args=[payment.student_id])
            + f"?term={payment.term_id}"
        )
    else:
        back_url = reverse("portal:me")
        payment = payments.filter(pk=payment_id, student__user=request.user).first()
        if payment is None:
            raise PermissionDenied("You may not see fee data.")
    lines = statement(student=payment.student, term=payment.term)
    after = next(
        line.balance for line in lines if line.kind == "payment" and line.entry.pk == payment.pk
    )
    context = {
        "payment": payment,
        "back_url": back_url,
        "school_name": settings.SCHOOL_NAME,
        "balance_after": after,
        "balance_now": lines[-1].balance,
    }
    return render(request, "payments/receipt.html", context)


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
