"""The fee ledger's rules: billing, adjustments, payments and voids.

The only writer of payments' models. Views, admin actions, the API and the demo
call these functions and turn LedgerError into a message for the user.

Every write that depends on a student's ledger takes a row lock on that
student (select_for_update inside transaction.atomic), so concurrent payments
and voids for one student are applied one after the other and all count.

Each entry also posts to the student's Balance row for the term, in the same
transaction (_post): sums move by the entry's amount with an UPDATE ... SET
paid = paid + x, which PostgreSQL applies to the latest row even when another
transaction changed it meanwhile, so billing (which locks the term, not every
student) and payments never lose each other's updates. The database derives
the balance and the state from the sums.
"""

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils import timezone

from attendance.days import FIRST_DAY, LAST_DAY
from attendance.models import Student
from payments.balances import Drift, find_drift
from payments.models import (
    MAX_MONEY,
    Balance,
    Charge,
    DueDateExtension,
    Payment,
    PaymentReversal,
    Term,
)

CENT = Decimal("0.01")
MAX_AMOUNT = MAX_MONEY


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


PLAIN_AMOUNT = re.compile(r"[+-]?([0-9]+(\.[0-9]+)?|\.[0-9]+)")


def plain_amount(text: str) -> bool:
    """Is `text` an amount the way a receipt writes one: digits with a point? Decimal()
    also reads "1_000", "1E+2" and the digits of other scripts."""
    return PLAIN_AMOUNT.fullmatch(text.strip()) is not None


EARLIEST_PAYMENT = datetime.combine(FIRST_DAY, time(0), tzinfo=UTC)
EARLIEST_PAYMENT_MESSAGE = f"A payment cannot be dated before {FIRST_DAY:%d %B %Y}."


def clean_amount(value: object) -> Decimal:
    """A positive amount of money with at most two decimals, or LedgerError."""
    not_a_number = LedgerError("Enter the amount as a number, like 80.00.", code="invalid_amount")
    if isinstance(value, str) and not plain_amount(value):
        raise not_a_number
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise not_a_number from None
    if not amount.is_finite():
        raise not_a_number
    if amount <= 0:
        raise LedgerError("The amount must be more than zero.", code="invalid_amount")
    # Before rounding: quantize refuses a number of more than 28 digits.
    if amount > MAX_AMOUNT:
        raise LedgerError(f"The amount must be at most {MAX_AMOUNT}.", code="invalid_amount")
    if amount != amount.quantize(CENT):
        raise LedgerError("Use at most two decimal places.", code="invalid_amount")
    return amount.quantize(CENT)


def new_reference(*, now: datetime | None = None) -> str:
    """A receipt number for payments recorded without one (cash at the counter)."""
    now = now or timezone.now()
    return f"RC-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


def _lock_student(student: Student) -> None:
    Student.objects.select_for_update().filter(pk=student.pk).values_list("pk", flat=True).get()


def _ensure_balances(*, term: Term, student_ids: list[int]) -> None:
    """Balance rows for these students, made empty where missing (a unique pair)."""
    Balance.objects.bulk_create(
        [Balance(student_id=pk, term_id=term.pk, due_on=term.due_on) for pk in student_ids],
        ignore_conflicts=True,
        batch_size=1000,
    )


def _post(
    *,
    student_id: int,
    term: Term,
    billed: Decimal = Decimal(0),
    adjustments: Decimal = Decimal(0),
    paid: Decimal = Decimal(0),
    charges: int = 0,
) -> None:
    """Move one student's balance row by an entry's amounts. Inside the entry's transaction.

    A missing row is made with the term's due date: an extension always
    makes its row first, so a student without a row has none.
    """
    _ensure_balances(term=term, student_ids=[student_id])
    # Rounded at every step: SQLite adds decimals as floats, and 0.01 + 2.00
    # - 2.00 - 0.01 must come back to exactly 0, not just under it (PostgreSQL's
    # numeric is exact already).
    try:
        Balance.objects.filter(student_id=student_id, term_id=term.pk).update(
            billed=Round(F("billed") + billed, 2),
            adjustments=Round(F("adjustments") + adjustments, 2),
            paid=Round(F("paid") + paid, 2),
            charge_count=F("charge_count") + charges,
        )
    except (DataError, IntegrityError) as exc:
        if not _past_max_money(exc):
            raise
        # The entry's transaction is rolled back by this error leaving it.
        raise LedgerError(
            f"This would take the student's fees or payments for the term past {MAX_MONEY},"
            " the most the ledger holds.",
            code="invalid_amount",
        ) from None


def _past_max_money(exc: Exception) -> bool:
    """PostgreSQL's numeric overflow, or the Balance constraint SQLite checks instead."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "22003" or "balance_sums_within_money" in str(exc)


def bill_term(
    *, term: Term, by: AbstractBaseUser | None = None, now: datetime | None = None
) -> int:
    """Charge every active student the term fee once. Returns how many were charged now.

    Billing again charges only students who have no term fee yet (new students);
    the unique constraint (term, student, kind=term fee) backs that up.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Two concurrent billings of one term wait for each other here. NO KEY:
        # a payment's insert checks its term with FOR KEY SHARE, which a plain
        # FOR UPDATE would block while the payment holds its student's lock and
        # billing waits for that student: a deadlock.
        term = Term.objects.select_for_update(no_key=True).get(pk=term.pk)
        already = Charge.objects.filter(term=term, kind=Charge.Kind.TERM_FEE).values("student_id")
        # The students to bill are locked first, in id order, before anything
        # is written. Foreign keys are checked at COMMIT (deferred), so without
        # this, billing would wait there for a payment's student lock while that
        # payment waits for billing's new balance row: a deadlock. NO KEY: a
        # register being written for these students may still refer to them.
        to_bill = list(
            Student.objects.filter(is_active=True)
            .exclude(pk__in=already)
            .order_by("pk")
            .select_for_update(no_key=True)
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
        # Every student just charged gets the fee on their row, in batches.
        # These students have no term fee yet, so nothing is posted twice.
        for start in range(0, len(to_bill), 1000):
            batch = to_bill[start : start + 1000]
            _ensure_balances(term=term, student_ids=batch)
            Balance.objects.filter(term=term, student_id__in=batch).update(
                billed=Round(F("billed") + term.fee, 2), charge_count=F("charge_count") + 1
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
        charge = Charge.objects.create(
            student=student,
            term=term,
            kind=kind,
            amount=signed,
            reason=reason[:300],
            created_by=by,
            created_at=now or timezone.now(),
        )
        _post(student_id=student.pk, term=term, adjustments=signed, charges=1)
    return charge


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
    # What this call asks for, to compare with a payment its key already made.
    asked = {"term_id": term.pk, "amount": amount, "method": method}
    asked["note"] = (note or "").strip()[:300]
    if (reference or "").strip():
        asked["reference"] = reference.strip()
    if received_at is not None:
        asked["received_at"] = received_at
    received_at = received_at or now
    if received_at > now:
        raise LedgerError("A payment cannot be received in the future.", code="future_payment")
    if received_at < EARLIEST_PAYMENT:
        # Year 1 in a zone east of UTC is a BC timestamp to PostgreSQL, which
        # Python cannot read back: the student's pages would fail for good.
        raise LedgerError(EARLIEST_PAYMENT_MESSAGE, code="invalid_date")
    reference = (reference or "").strip() or new_reference(now=now)
    with transaction.atomic():
        # The lock serialises this student's payments, so a repeated key waits
        # for the first submission and then finds its payment.
        _lock_student(student)
        if idempotency_key is not None:
            existing = _payment_for_key(idempotency_key, student=student, asked=asked)
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
                _post(student_id=student.pk, term=term, paid=amount)
        except IntegrityError:
            # Another student's submission won the same key or reference.
            if idempotency_key is not None:
                existing = _payment_for_key(idempotency_key, student=student, asked=asked)
                if existing is not None:
                    return RecordResult(payment=existing, created=False)
            if Payment.objects.filter(reference=reference).exists():
                raise DuplicateReference(
                    f"Reference {reference} is already used by another payment."
                ) from None
            raise
    return RecordResult(payment=payment, created=True)


def _payment_for_key(key: uuid.UUID, *, student: Student, asked: dict) -> Payment | None:
    """The payment `key` already recorded, if it recorded this one. The same key with
    another student, amount, method, term, reference, date or note is another
    payment, and is refused rather than answered with the first."""
    payment = Payment.objects.filter(idempotency_key=key).first()
    if payment is None:
        return None
    if payment.student_id != student.pk:
        raise LedgerError("This form was already used for another student.", code="key_reused")
    differing = sorted(name for name, value in asked.items() if getattr(payment, name) != value)
    if differing:
        raise LedgerError(
            "This idempotency key already recorded a payment with another "
            f"{', '.join(name.removesuffix('_id') for name in differing)}; "
            "use a new key for a new payment.",
            code="key_reused",
        )
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
                reversal = PaymentReversal.objects.create(
                    payment=payment,
                    reason=reason[:300],
                    reversed_by=by,
                    reversed_at=now or timezone.now(),
                )
        except IntegrityError:
            raise AlreadyVoided(f"Payment {payment.reference} is already voided.") from None
        _post(student_id=payment.student_id, term=payment.term, paid=-payment.amount)
    return reversal


def activate_term(*, term: Term) -> Term:
    """Make `term` the one active term. Concurrent activations take turns.

    Every term row is locked first, in id order, so a second activation waits
    until the first commits and then deactivates the term it made active. Without
    the locks the two updates interleave on the one_active_term index and
    PostgreSQL answers with a deadlock. NO KEY UPDATE, as the updates take
    anyway: entries check their term with FOR KEY SHARE, which must not wait.
    The constraint still decides against a term made active some other way.
    """
    for _attempt in range(3):
        try:
            with transaction.atomic():
                list(
                    Term.objects.select_for_update(no_key=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
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


def check_extension_date(*, term: Term, due_on: date) -> None:
    """An extension moves the due date later: not to the term's own date or before
    it (the student would be overdue at once), and not past the last day a
    record may name."""
    if due_on <= term.due_on:
        raise LedgerError(
            f"An extension must be later than the term's due date, {term.due_on:%d %b %Y}.",
            code="invalid_date",
        )
    if due_on > LAST_DAY:
        raise LedgerError(f"An extension cannot run past {LAST_DAY:%d %b %Y}.", code="invalid_date")


def extend_due_date(
    *,
    student: Student,
    term: Term,
    due_on: date,
    reason: str,
    by: AbstractBaseUser | None = None,
) -> DueDateExtension:
    """Agree a later due date with one student for one term (a payment plan).

    One extension per student and term: a second call moves the date. The
    student's balance row takes the date in the same transaction.
    """
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("Give a reason for the extension.", code="reason_required")
    check_extension_date(term=term, due_on=due_on)
    with transaction.atomic():
        _lock_student(student)
        extension, created = DueDateExtension.objects.get_or_create(
            student=student,
            term=term,
            defaults={"due_on": due_on, "reason": reason[:300], "granted_by": by},
        )
        if not created:
            extension.due_on, extension.reason = due_on, reason[:300]
            extension.save(update_fields=["due_on", "reason"])
        _ensure_balances(term=term, student_ids=[student.pk])
        Balance.objects.filter(student=student, term=term).update(due_on=due_on)
    return extension


def cancel_due_date_extension(*, extension: DueDateExtension) -> None:
    """Remove an agreed extension: the student is due on the term's date again."""
    with transaction.atomic():
        _lock_student(extension.student)
        term = Term.objects.get(pk=extension.term_id)
        DueDateExtension.objects.filter(pk=extension.pk).delete()
        Balance.objects.filter(student_id=extension.student_id, term=term).update(
            due_on=term.due_on
        )


def save_term(*, term: Term) -> Term:
    """Create or change a term; a new due date reaches every row without an extension.

    The students with a row in the term are locked first (id order, NO KEY
    UPDATE), so an extension being granted to one of them finishes before, or
    waits until after, the rows move. The term itself is only updated, never
    locked FOR UPDATE: entries check it at COMMIT (deferred foreign keys), and
    a FOR UPDATE here would deadlock with them.
    """
    with transaction.atomic():
        if term.pk is not None:
            list(
                Student.objects.filter(balances__term_id=term.pk)
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)
            )
        term.save()
        extended = DueDateExtension.objects.filter(term=term).values("student_id")
        Balance.objects.filter(term=term).exclude(student_id__in=extended).exclude(
            due_on=term.due_on
        ).update(due_on=term.due_on)
    return term


def repair_balances(*, term: Term, student_ids: list[int]) -> list[Drift]:
    """Write the entries' figures over these students' rows that drifted. Returns the drift.

    The students are locked first (in id order, as every ledger write locks
    one), so no entry lands between the recomputation and the write.
    """
    with transaction.atomic():
        list(
            Student.objects.select_for_update()
            .filter(pk__in=student_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        drifts = find_drift(term=term, student_ids=student_ids)
        missing = [d for d in drifts if d.row is None]
        Balance.objects.bulk_create(
            [
                Balance(student_id=d.student_id, term_id=term.pk, **d.expected.as_dict())
                for d in missing
            ],
            batch_size=1000,
        )
        for drift in drifts:
            if drift.row is not None:
                Balance.objects.filter(student_id=drift.student_id, term=term).update(
                    **drift.expected.as_dict()
                )
    return drifts
