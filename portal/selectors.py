"""Reads for the student's own pages: each a fixed number of queries, whatever the history."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from attendance.models import AttendanceRecord, Device, Enrollment, Student
from attendance.reports import below_threshold
from excuses.selectors import states_by_record as excuse_states
from excuses.submissions import refusal as excuse_refusal
from payments.models import Payment, Term
from payments.selectors import FeeStatus, FeeSummary, active_term, attendance_by_course, fee_summary

RECENT_SESSIONS = 10
DEVICES_SHOWN = 20


@dataclass(frozen=True)
class MyCourse:
    """One of the student's courses with their counts; the rate as in attendance/reports.py:
    present and late over present, late and absent, excused left out."""

    course_id: int
    code: str
    title: str
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    warn_below_percent: int = 75
    warn_after_sessions: int = 5

    @property
    def counted(self) -> int:
        return self.present + self.late + self.absent

    @property
    def at_risk(self) -> bool:
        """Below the course's warning threshold, the rule the register and warnings use."""
        return below_threshold(
            present=self.present,
            late=self.late,
            absent=self.absent,
            warn_below_percent=self.warn_below_percent,
            warn_after_sessions=self.warn_after_sessions,
        )

    @property
    def rate(self) -> float | None:
        return (self.present + self.late) / self.counted if self.counted else None

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


@dataclass(frozen=True)
class MyFees:
    term: Term
    summary: FeeSummary
    payments: list[Payment]

    @property
    def credit(self) -> Decimal:
        """What the school owes the student (a CREDIT balance, shown as a positive sum)."""
        return -self.summary.balance if self.summary.balance < 0 else Decimal("0.00")

    @property
    def is_credit(self) -> bool:
        return self.summary.status == FeeStatus.CREDIT


def student_of(user) -> Student | None:
    """The Student linked to this login, or None (one query)."""
    if not user.is_authenticated:
        return None
    return Student.objects.filter(user=user).first()


def my_courses(*, student: Student) -> list[MyCourse]:
    """Every enrolled course with this student's counts: two queries (enrollments, then
    the records counted per course and status)."""
    enrolled = list(
        Enrollment.objects.filter(student=student)
        .order_by("course__code")
        .values_list(
            "course_id",
            "course__code",
            "course__title",
            "course__warn_below_percent",
            "course__warn_after_sessions",
        )
    )
    counts = {row.course_id: row for row in attendance_by_course(student=student)}
    courses = []
    for course_id, code, title, warn_below, warn_after in enrolled:
        row = counts.get(course_id)
        courses.append(
            MyCourse(
                course_id=course_id,
                code=code,
                title=title,
                present=row.present if row else 0,
                late=row.late if row else 0,
                absent=row.absent if row else 0,
                excused=row.excused if row else 0,
                warn_below_percent=warn_below,
                warn_after_sessions=warn_after,
            )
        )
    return courses


def my_records(*, student: Student) -> QuerySet[AttendanceRecord]:
    """The student's register rows, newest session first (one query per slice)."""
    return (
        AttendanceRecord.objects.filter(student=student)
        .select_related("session__course")
        .only(
            "status",
            "source",
            "first_seen",
            "session__date",
            "session__is_active",
            "session__started_at",
            "session__course__code",
            "session__course__title",
        )
        .order_by("-session__started_at", "-pk")
    )


def my_fees(*, student: Student) -> MyFees | None:
    """The active term's balance and payments (three queries), or None without a term."""
    term = active_term()
    if term is None:
        return None
    payments = list(
        Payment.objects.filter(student=student, term=term)
        .select_related("reversal")
        .order_by("-received_at", "-pk")
    )
    return MyFees(term=term, summary=fee_summary(student=student, term=term), payments=payments)


def devices_of(*, student: Student) -> list[Device]:
    """Active devices first, then the latest revoked ones, each with its audit row (one query)."""
    return list(
        Device.objects.filter(student=student)
        .select_related("revocation__revoked_by")
        .order_by("-is_active", "-created_at", "-pk")[:DEVICES_SHOWN]
    )


def with_excuse_actions(*, student: Student, records: list[AttendanceRecord], today) -> list:
    """Mark each record with what its row offers about excuses: `excuse_state` (the
    latest request's state, or "") and `can_ask_excuse`. One query for the whole list."""
    states = excuse_states(student=student, record_ids=[r.pk for r in records])
    for record in records:
        record.excuse_state = states.get(record.pk, "")
        record.can_ask_excuse = record.excuse_state != "pending" and not excuse_refusal(
            record=record, today=today
        )
    return records
