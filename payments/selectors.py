"""Reads of the fee ledger: balances and statuses, from the ledger's balance rows.

balance = sum of the term's charges (discounts and scholarships are negative)
          - sum of its payments that have no reversal.

payments/ledger.py keeps one Balance row per student and term with these sums
in the transaction of each entry, so a list of 10,000 students reads one
indexed row each instead of summing their entries (`manage.py verify_ledger`
checks the rows against the entries).

Status of a student for a term, first match wins:
  NOT_BILLED  no charge entries and nothing paid (or no balance row at all)
  CREDIT      balance < 0 (overpaid)
  PAID        balance = 0
  OVERDUE     balance > 0 and the due date has passed: the student's agreed
              extension if there is one, else the term's. OVERDUE replaces
              UNPAID and PARTIAL, so it is what the office chases first.
  UNPAID      balance > 0 and nothing paid
  PARTIAL     balance > 0 and something paid

The row stores the status without the calendar (Balance.state) and the due
date; OVERDUE is state UNPAID or PARTIAL with due_on before today. The rule
also exists in Python (fee_status) for the tests, which check that they agree.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone

from attendance.models import AttendanceRecord, Enrollment, Student
from payments.models import Balance, Charge, Payment, Term
from payments.permissions import can_view_fees

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


class FeeStatus(models.TextChoices):
    NOT_BILLED = "NOT_BILLED", "Not billed"
    UNPAID = "UNPAID", "Unpaid"
    PARTIAL = "PARTIAL", "Partial"
    PAID = "PAID", "Paid"
    CREDIT = "CREDIT", "Credit"
    OVERDUE = "OVERDUE", "Overdue"


def fee_status(
    *, billed: bool, charged: Decimal, paid: Decimal, due_on: date | None, today: date
) -> FeeStatus:
    """The status rule in Python; must match Balance.state and annotate_fees().
    `billed`: any charge entry."""
    balance = charged - paid
    if not billed and paid == 0:
        return FeeStatus.NOT_BILLED
    if balance < 0:
        return FeeStatus.CREDIT
    if balance == 0:
        return FeeStatus.PAID
    if due_on is not None and due_on < today:
        return FeeStatus.OVERDUE
    if paid == 0:
        return FeeStatus.UNPAID
    return FeeStatus.PARTIAL


def status_of(*, state: str | None, due_on: date | None, today: date) -> FeeStatus:
    """A balance row's status on `today` (no row: NOT_BILLED)."""
    if state is None:
        return FeeStatus.NOT_BILLED
    if state in Balance.OWING and due_on is not None and due_on < today:
        return FeeStatus.OVERDUE
    return FeeStatus(state)


def active_term() -> Term | None:
    return Term.objects.filter(is_active=True).first()


def annotate_fees(
    students: QuerySet[Student], *, term: Term, today: date | None = None
) -> QuerySet[Student]:
    """Annotate fee_charged, fee_paid, fee_balance, fee_due_on and fee_status for `term`.

    One LEFT JOIN to the student's balance row for the term (the `fee_row`
    relation, which filter_fee_status and order_by_fees use too): no sums.
    """
    today = today or timezone.localdate()
    return students.annotate(
        fee_row=FilteredRelation("balances", condition=Q(balances__term=term))
    ).annotate(
        fee_charged=Coalesce(
            F("fee_row__billed") + F("fee_row__adjustments"), Value(ZERO), output_field=_MONEY
        ),
        fee_paid=Coalesce(F("fee_row__paid"), Value(ZERO), output_field=_MONEY),
        fee_balance=Coalesce(F("fee_row__balance"), Value(ZERO), output_field=_MONEY),
        fee_due_on=Coalesce(F("fee_row__due_on"), Value(term.due_on)),
        fee_status=Case(
            When(
                fee_row__state__in=Balance.OWING,
                fee_row__due_on__lt=today,
                then=Value(FeeStatus.OVERDUE.value),
            ),
            When(fee_row__state__isnull=False, then=F("fee_row__state")),
            default=Value(FeeStatus.NOT_BILLED.value),
            output_field=models.CharField(max_length=12),
        ),
    )


def filter_fee_status(
    students: QuerySet[Student], *, term: Term, status: str, today: date | None = None
) -> QuerySet[Student]:
    """The students whose status in `term` is `status`, as an index range.

    A semi-join on the term's balance rows, never the computed fee_status, so
    PostgreSQL answers it from the (term, state, due_on) index: OVERDUE is
    state IN (UNPAID, PARTIAL) AND due_on < today. (A filter on the `fee_row`
    relation of annotate_fees would join the balance table a second time.)
    """
    today = today or timezone.localdate()
    rows = Balance.objects.filter(term=term)
    if status == FeeStatus.NOT_BILLED:
        billed = rows.exclude(state=Balance.State.NOT_BILLED)
        return students.exclude(pk__in=billed.values("student_id"))
    if status == FeeStatus.OVERDUE:
        rows = rows.filter(state__in=Balance.OWING, due_on__lt=today)
    elif status in Balance.OWING:
        rows = rows.filter(state=status, due_on__gte=today)
    elif status in (FeeStatus.PAID, FeeStatus.CREDIT):
        rows = rows.filter(state=status)
    else:
        raise ValueError(f"Unknown fee status {status!r}")
    return students.filter(pk__in=rows.values("student_id"))


STUDENT_ORDER = ("last_name", "first_name", "student_number")


def order_students(students: QuerySet[Student], *, sort: str) -> QuerySet[Student]:
    """Sort by name (`name`, `-name`) or, after annotate_fees, by balance
    (`balance`: credits first, `-balance`: the largest debts first); names break ties."""
    if sort == "-name":
        return students.order_by(*(f"-{f}" for f in STUDENT_ORDER))
    if sort == "balance":
        return students.order_by("fee_balance", *STUDENT_ORDER)
    if sort == "-balance":
        return students.order_by("-fee_balance", *STUDENT_ORDER)
    return students.order_by(*STUDENT_ORDER)


def students_for_user(user) -> QuerySet[Student]:
    """The students `user` may look up: staff and the fees office every one, a
    lecturer the students of their own courses (pages and API alike)."""
    if user.is_staff or can_view_fees(user):
        return Student.objects.all()
    return Student.objects.filter(
        pk__in=Enrollment.objects.filter(course__lecturers=user).values("student_id")
    )


def annotate_attendance(students: QuerySet[Student]) -> QuerySet[Student]:
    """Annotate attendance_total, attendance_attended and attendance_percent.

    Attended = present + late, over the student's records that count: an excused
    absence is left out, as in the course register (attendance/reports.py), so it
    never lowers the rate. None with no such records.
    """
    records = (
        AttendanceRecord.objects.filter(student_id=OuterRef("pk"))
        .exclude(status=AttendanceRecord.Status.EXCUSED)
        .order_by()
        .values("student_id")
    )
    total = records.annotate(n=Count("pk")).values("n")
    attended = (
        records.filter(status__in=[AttendanceRecord.Status.PRESENT, AttendanceRecord.Status.LATE])
        .annotate(n=Count("pk"))
        .values("n")
    )
    return students.annotate(
        attendance_total=Coalesce(Subquery(total), Value(0)),
        attendance_attended=Coalesce(Subquery(attended), Value(0)),
    ).annotate(
        attendance_percent=Case(
            When(attendance_total=0, then=Value(None)),
            default=Round(
                Cast(F("attendance_attended"), FloatField())
                * 100.0
                / Cast(F("attendance_total"), FloatField()),
                1,
            ),
            output_field=FloatField(),
        )
    )


@dataclass(frozen=True)
class FeeSummary:
    term: Term
    charged: Decimal
    paid: Decimal
    due_on: date
    status: FeeStatus

    @property
    def balance(self) -> Decimal:
        return self.charged - self.paid


def fee_summary(*, student: Student, term: Term, today: date | None = None) -> FeeSummary:
    """One student's totals and status for a term: their balance row (one query)."""
    today = today or timezone.localdate()
    row = Balance.objects.filter(student=student, term=term).values(
        "billed", "adjustments", "paid", "due_on", "state"
    )
    found = row.first()
    if found is None:
        return FeeSummary(
            term=term, charged=ZERO, paid=ZERO, due_on=term.due_on, status=FeeStatus.NOT_BILLED
        )
    return FeeSummary(
        term=term,
        charged=(found["billed"] + found["adjustments"]).quantize(CENT),
        paid=found["paid"].quantize(CENT),
        due_on=found["due_on"],
        status=status_of(state=found["state"], due_on=found["due_on"], today=today),
    )


@dataclass(frozen=True)
class StatementLine:
    at: object  # datetime
    kind: str  # "charge", "payment" or "reversal"
    description: str
    debit: Decimal | None  # what the student owes more
    credit: Decimal | None  # what the student owes less
    balance: Decimal
    entry: object  # the Charge, Payment or PaymentReversal


def statement(*, student: Student, term: Term) -> list[StatementLine]:
    """Charges, payments and reversals in time order with a running balance (3 queries)."""
    entries: list[tuple] = []
    for charge in Charge.objects.filter(student=student, term=term):
        label = charge.get_kind_display()
        if charge.reason:
            label = f"{label}: {charge.reason}"
        entries.append((charge.created_at, 0, charge.pk, "charge", label, charge.amount, charge))
    payments = Payment.objects.filter(student=student, term=term).select_related(
        "reversal", "recorded_by"
    )
    for payment in payments:
        label = f"Payment {payment.reference} ({payment.get_method_display()})"
        entries.append(
            (payment.received_at, 1, payment.pk, "payment", label, -payment.amount, payment)
        )
        if payment.is_voided:
            reversal = payment.reversal
            entries.append(
                (
                    reversal.reversed_at,
                    2,
                    reversal.pk,
                    "reversal",
                    f"Void of {payment.reference}: {reversal.reason}",
                    payment.amount,
                    reversal,
                )
            )
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    lines = []
    balance = ZERO
    for at, _order, _pk, kind, label, delta, entry in entries:
        balance += delta
        lines.append(
            StatementLine(
                at=at,
                kind=kind,
                description=label,
                debit=delta if delta > 0 else None,
                credit=-delta if delta < 0 else None,
                balance=balance,
                entry=entry,
            )
        )
    return lines


@dataclass(frozen=True)
class CourseAttendance:
    course_id: int
    code: str
    title: str
    present: int
    late: int
    absent: int
    excused: int

    @property
    def records(self) -> int:
        return self.present + self.late + self.absent + self.excused

    @property
    def percent(self) -> float | None:
        # Excused absences do not count, as in annotate_attendance.
        counted = self.present + self.late + self.absent
        if not counted:
            return None
        return round((self.present + self.late) * 100 / counted, 1)


def attendance_by_course(
    *, student: Student, courses: QuerySet | None = None
) -> list[CourseAttendance]:
    """The student's records counted per course and status, in one query."""
    records = AttendanceRecord.objects.filter(student=student)
    if courses is not None:
        records = records.filter(session__course__in=courses)
    S = AttendanceRecord.Status
    rows = (
        records.order_by()
        .values("session__course_id", "session__course__code", "session__course__title")
        .annotate(
            present=Count("pk", filter=Q(status=S.PRESENT)),
            late=Count("pk", filter=Q(status=S.LATE)),
            absent=Count("pk", filter=Q(status=S.ABSENT)),
            excused=Count("pk", filter=Q(status=S.EXCUSED)),
        )
        .order_by("session__course__code")
    )
    return [
        CourseAttendance(
            course_id=row["session__course_id"],
            code=row["session__course__code"],
            title=row["session__course__title"],
            present=row["present"],
            late=row["late"],
            absent=row["absent"],
            excused=row["excused"],
        )
        for row in rows
    ]
