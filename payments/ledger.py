"""The fee ledger's rules: billing, adjustments, payments and voids.

The only writer of payments' models. Views, admin actions, the API and the demo
call these functions and turn LedgerError into a message for the user.

Every write that depends on a student's ledger takes a row lock on that
student (select_for_update inside transaction.atomic), so concurrent payments
and voids for one student are applied one after the other and all count.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import Student
from payments.models import Charge, Payment, PaymentReversal, Term

CENT = Decimal("0.01")
# Decimal(12, 2) in the database: ten digits before the point.
MAX_AMOUNT = Decimal("9999999999.99")


class LedgerError(Exception):
    """A ledger rule refused the write; the message is meant for the user."""

    code = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class DuplicateReference(LedgerError):
    code = "duplicate_reference"


class AlreadyVoided(LedgerError):
    code = "already_voided"


@dataclass(frozen=True)
class RecordResult:
    payment: Payment
    created: bool  # False when this idempotency key had already recorded the payment


def clean_amount(value: object) -> Decimal:
    """A positive amount of money with at most two decimals, or LedgerError."""
    not_a_number = LedgerError("Enter the amount as a number, like 80.00.", code="invalid_amount")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise not_a_number from None
    if not amount.is_finite():
        raise not_a_number
    if amount <= 0:
        raise LedgerError("The amount must be more than zero.", code="invalid_amount")
    if amount != amount.quantize(CENT):
        raise LedgerError("Use at most two decimal places.", code="invalid_amount")
    if amount > MAX_AMOUNT:
        raise LedgerError(f"The amount must be at most {MAX_AMOUNT}.", code="invalid_amount")
    return amount.quantize(CENT)


def new_reference(*, now: datetime | None = None) -> str:
    """A receipt number for payments recorded without one (cash at the counter)."""
    now = now or timezone.now()
    return f"RC-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


def _lock_student(student: Student) -> None:
    Student.objects.select_for_update().filter(pk=student.pk).values_list("pk", flat=True).get()


def bill_term(
    *, term: Term, by: AbstractBaseUser | None = None, now: datetime | None = None
) -> int:
    """Charge every active student the term fee once. Returns how many were charged now.

    Billing again charges only students who have no term fee yet (new students);
    the unique constraint (term, student, kind=term fee) backs that up.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Two concurrent billings of one term wait for each other here.
        term = Term.objects.select_for_update().get(pk=term.pk)
        already = Charge.objects.filter(term=term, kind=Charge.Kind.TERM_FEE).values("student_id")
        to_bill = list(
            Student.objects.filter(is_active=True)
            .exclude(pk__in=already)
            .values_list("pk", flat=True)
        )
        Charge.objects.bulk_create(
            [
                Charge(
                    student_id=student_id,
                    term=term,
                    kind=Charge.Kind.TERM_FEE,
                    amount=term.fee,
                    created_by=by,
                    created_at=now,
                )
                for student_id in to_bill
            ],
            batch_size=500,
        )
    return len(to_bill)


def add_adjustment(
    *,
    student: Student,
    term: Term,
    kind: str,
    amount: Decimal | str,
    reason: str,
    by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Charge:
    """A per-student discount, scholarship or extra charge, with its reason.

    `amount` is always given as a positive number; discounts and scholarships
    are stored negative so that a balance is a plain sum of charges.
    """
    if kind not in {Charge.Kind.EXTRA, Charge.Kind.DISCOUNT, Charge.Kind.SCHOLARSHIP}:
        raise LedgerError(
            "Choose a discount, a scholarship or an extra charge.", code="invalid_kind"
        )
    amount = clean_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("Give a reason for the adjustment.", code="reason_required")
    signed = -amount if kind in Charge.CREDIT_KINDS else amount
    with transaction.atomic():
        _lock_student(student)
        return Charge.objects.create(
            student=student,
            term=term,
            kind=kind,
            amount=signed,
            reason=reason[:300],
            created_by=by,
            created_at=now or timezone.now(),
        )


def record_payment(
    *,
    student: Student,
    term: Term,
    amount: Decimal | str,
    method: str,
    by: AbstractBaseUser | None,
    reference: str = "",
    received_at: datetime | None = None,
    idempotency_key: uuid.UUID | None = None,
    note: str = "",
    now: datetime | None = None,
) -> RecordResult:
    """Record one payment. The same idempotency key never records a second one."""
    amount = clean_amount(amount)
    if method not in Payment.Method.values:
        raise LedgerError("Choose how the payment was made.", code="invalid_method")
    now = now or timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise LedgerError("A payment cannot be received in the future.", code="future_payment")
    reference = (reference or "").strip() or new_reference(now=now)
    with transaction.atomic():
        # The lock serialises this student's payments, so a repeated key waits
        # for the first submission and then finds its payment.
        _lock_student(student)
        if idempotency_key is not None:
            existing = _payment_for_key(idempotency_key, student=student)
            if existing is not None:
                return RecordResult(payment=existing, created=False)
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    student=student,
                    term=term,
                    amount=amount,
                    method=method,
                    reference=reference,
                    received_at=received_at,
                    recorded_by=by,
                    recorded_at=now,
                    note=(note or "").strip()[:300],
                    idempotency_key=idempotency_key,
                )
        except IntegrityError:
            # Another student's submission won the same key or reference.
            if idempotency_key is not None:
                existing = _payment_for_key(idempotency_key, student=student)
                if existing is not None:
                    return RecordResult(payment=existing, created=False)
            if Payment.objects.filter(reference=reference).exists():
                raise DuplicateReference(
                    f"Reference {reference} is already used by another payment."
                ) from None
            raise
    return RecordResult(payment=payment, created=True)


def _payment_for_key(key: uuid.UUID, *, student: Student) -> Payment | None:
    payment = Payment.objects.filter(idempotency_key=key).first()
    if payment is not None and payment.student_id != student.pk:
        raise LedgerError("This form was already used for another student.", code="key_reused")
    return payment


def void_payment(
    *,
    payment: Payment,
    reason: str,
    by: AbstractBaseUser | None,
    now: datetime | None = None,
) -> PaymentReversal:
    """Void a payment by a reversal entry; the payment stays on the statement."""
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("Give a reason for voiding the payment.", code="reason_required")
    with transaction.atomic():
        _lock_student(payment.student)
        if PaymentReversal.objects.filter(payment_id=payment.pk).exists():
            raise AlreadyVoided(f"Payment {payment.reference} is already voided.")
        try:
            with transaction.atomic():
                return PaymentReversal.objects.create(
                    payment=payment,
                    reason=reason[:300],
                    reversed_by=by,
                    reversed_at=now or timezone.now(),
                )
        except IntegrityError:
            raise AlreadyVoided(f"Payment {payment.reference} is already voided.") from None


def activate_term(*, term: Term) -> Term:
    """Make `term` the one active term. The constraint decides between concurrent calls."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                Term.objects.filter(is_active=True).exclude(pk=term.pk).update(is_active=False)
                Term.objects.filter(pk=term.pk).update(is_active=True)
            break
        except IntegrityError:
            # A concurrent activation committed first; deactivate it and retry.
            continue
    else:
        raise LedgerError("Another term was being activated at the same time; try again.")
    term.refresh_from_db()
    return term
