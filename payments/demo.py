"""Demo fee data for `manage.py seed_demo`.

The active term "Second Term (2026)" has a 120.00 fee whose due date passed a
week ago. Students with an agreed payment plan (a DueDateExtension a month
away) are still UNPAID or PARTIAL; students without one who owe anything are
OVERDUE. So /students/ shows all five statuses at once:

  PARTIAL  80.00 paid, on a payment plan: balance 40.00 (the old system's example)
  PAID     paid in full (or a scholarship plus the rest)
  OVERDUE  nothing or part paid, no plan; or a bounced cheque, voided
  UNPAID   nothing paid yet, on a payment plan
  CREDIT   paid 150.00
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from attendance.models import Student
from payments import ledger
from payments.models import Charge, DueDateExtension, Payment, PaymentReversal, Term
from payments.permissions import ensure_fees_office_group

TERM_NAME, TERM_YEAR = "Second Term", 2026
TERM_FEE = Decimal("120.00")
OFFICE_USERNAME = OFFICE_PASSWORD = "office"  # noqa: S105 (a demo login, printed on purpose)


@dataclass(frozen=True)
class Plan:
    """What one demo student did this term."""

    payments: tuple[str, ...] = ()
    payment_plan: bool = False
    scholarship: str | None = None
    void_first: bool = False


# Cycled over the students in number order; the first five give the five statuses.
PLANS = [
    Plan(payments=("80.00",), payment_plan=True),  # PARTIAL, balance 40.00
    Plan(payments=("120.00",)),  # PAID
    Plan(),  # OVERDUE
    Plan(payment_plan=True),  # UNPAID
    Plan(payments=("100.00", "50.00")),  # CREDIT 30.00
    Plan(payments=("60.00", "60.00")),  # PAID in two instalments
    Plan(payments=("50.00",)),  # OVERDUE, part paid
    Plan(payments=("30.00",), payment_plan=True),  # PARTIAL
    Plan(payments=("60.00",), scholarship="60.00"),  # PAID with a half scholarship
    Plan(payments=("120.00",), void_first=True),  # OVERDUE: the cheque bounced
]

METHODS = ["cash", "bank_transfer", "mobile_money", "card"]


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _office_user():
    User = get_user_model()
    user, created = User.objects.get_or_create(username=OFFICE_USERNAME)
    if created:
        user.set_password(OFFICE_PASSWORD)
        user.first_name, user.last_name = "Fees", "Office"
        user.save()
    user.groups.add(ensure_fees_office_group())
    return user


def _term(today) -> tuple[Term, bool]:
    term, created = Term.objects.get_or_create(
        name=TERM_NAME,
        year=TERM_YEAR,
        defaults={
            "starts_on": today - timedelta(days=60),
            "ends_on": today + timedelta(days=45),
            "due_on": today - timedelta(days=7),
            "fee": TERM_FEE,
        },
    )
    # Activate only a new term: a second run must not undo a choice made in admin.
    if created or not Term.objects.filter(is_active=True).exists():
        term = ledger.activate_term(term=term)
    return term, created


def _apply(plan: Plan, *, student: Student, term: Term, office, now: datetime, index: int) -> int:
    """Write what `plan` says for `student`, skipping what exists. Returns payments made."""
    made = 0
    if (
        plan.payment_plan
        and not DueDateExtension.objects.filter(student=student, term=term).exists()
    ):
        ledger.extend_due_date(
            student=student,
            term=term,
            due_on=term.due_on + timedelta(days=37),
            reason="Payment plan agreed with the family",
            by=office,
        )
    if (
        plan.scholarship
        and not Charge.objects.filter(
            student=student, term=term, kind=Charge.Kind.SCHOLARSHIP
        ).exists()
    ):
        ledger.add_adjustment(
            student=student,
            term=term,
            kind=Charge.Kind.SCHOLARSHIP,
            amount=plan.scholarship,
            reason="Half scholarship (merit)",
            by=office,
            now=now - timedelta(days=50),
        )
    for n, amount in enumerate(plan.payments):
        reference = f"DEMO-{term.year}-{term.pk}-{student.student_number}-{n + 1}"
        payment = Payment.objects.filter(reference=reference).first()
        if payment is None:
            payment = ledger.record_payment(
                student=student,
                term=term,
                amount=amount,
                method=METHODS[(index + n) % len(METHODS)],
                reference=reference,
                received_at=now - timedelta(days=40 - 10 * n - index % 7, hours=index % 5),
                by=office,
                now=now,
            ).payment
            made += 1
        if (
            plan.void_first
            and n == 0
            and not PaymentReversal.objects.filter(payment=payment).exists()
        ):
            ledger.void_payment(payment=payment, reason="Cheque bounced", by=office, now=now)
    return made


def seed_fees(*, stdout=None) -> None:
    """Create the demo term, its fees and a mix of payments. Safe to run twice."""
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        office = _office_user()
        term, created = _term(today)
        # Billed on the first day of term, so statements read in order.
        billed_at = timezone.make_aware(datetime.combine(term.starts_on, time(8, 0)))
        charged = ledger.bill_term(term=term, by=office, now=min(billed_at, now))
        students = list(Student.objects.filter(is_active=True).order_by("student_number"))
        made = 0
        for index, student in enumerate(students):
            plan = PLANS[index % len(PLANS)]
            made += _apply(plan, student=student, term=term, office=office, now=now, index=index)
    _say(
        stdout,
        f"Fees: {term} {'created' if created else 'exists'}, fee {term.fee}, due {term.due_on}; "
        f"{charged} student(s) billed now, {made} payment(s) recorded now.",
    )
    _say(stdout, f"Fees office login: {OFFICE_USERNAME} / {OFFICE_PASSWORD}")
