"""Payments, recorded through the fee ledger (payments/ledger.py), never around it.

The reference is the idempotency key: a reference already in the ledger for
the same student, amount, method and date is unchanged; for anything else it
is an error (payments are never edited: void and record again).
"""

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from accounts.imports.reading import ImportFileError, Table
from accounts.imports.rows import (
    NEW,
    UNCHANGED,
    ImportConflict,
    Plan,
    Progress,
    RowChecker,
    RowError,
    RowOutcome,
    RowRefused,
    chunked,
    report_progress,
)
from attendance.days import FIRST_DAY
from attendance.models import Student
from payments import ledger
from payments.models import MAX_MONEY, Balance, Payment, Term

COLUMNS = ("student_number", "amount", "method", "reference", "paid_on")
KEY_NAMESPACE = uuid.UUID("6a2b1f0e-4e0e-4c1d-9a53-0f4c2b7d9e11")
METHODS = {
    **{value: value for value in Payment.Method.values},
    **{label.lower(): value for value, label in Payment.Method.choices},
}


def _paid_on(text: str) -> date | None:
    for parse in (
        date.fromisoformat,
        lambda t: datetime.strptime(t, "%d/%m/%Y").date(),
        # A spreadsheet's date-and-time cell (reading.py writes it in ISO form).
        lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S").date(),
    ):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def plan_payments(table: Table, *, progress: Progress | None = None) -> Plan:
    term = Term.objects.filter(is_active=True).first()
    if term is None:
        raise ImportFileError("There is no active term to record payments in; activate one first.")
    numbers = {values["student_number"] for _, values in table.rows if values["student_number"]}
    student_ids: dict[str, int] = {}
    for chunk in chunked(numbers):
        student_ids.update(
            Student.objects.filter(student_number__in=chunk).values_list("student_number", "pk")
        )
    references = {values["reference"] for _, values in table.rows if values["reference"]}
    existing: dict[str, tuple] = {}
    for chunk in chunked(references):
        for reference, *rest in Payment.objects.filter(reference__in=chunk).values_list(
            "reference", "student__student_number", "amount", "method", "received_at"
        ):
            existing[reference] = tuple(rest)

    # What each student has paid this term, and what the file adds, must stay
    # within what the ledger holds (its Balance rows' numeric(12, 2)).
    paid: dict[int, Decimal] = {}
    for chunk in chunked(student_ids.values()):
        paid.update(
            Balance.objects.filter(term=term, student_id__in=chunk).values_list(
                "student_id", "paid"
            )
        )

    plan = Plan(work={"create": [], "term": term})
    seen: dict[str, int] = {}
    today = timezone.localdate()
    reference_length = Payment._meta.get_field("reference").max_length
    total = len(table.rows)
    for done, (row, values) in enumerate(table.rows, start=1):
        check = RowChecker(row, values)
        number = check.text("student_number", max_length=20)
        if number and number not in student_ids:
            check.error("student_number", f"No student has the number {number!r}.")
        amount = None
        try:
            amount = ledger.clean_amount(values["amount"])
        except ledger.LedgerError as exc:
            check.error("amount", exc.message)
        method = METHODS.get(values["method"].lower())
        if method is None:
            check.error(
                "method", f"{values['method']!r} is not one of {', '.join(Payment.Method.values)}."
            )
        reference = check.text("reference", max_length=reference_length)
        if reference:
            check.once("reference", reference, seen)
        paid_on = _paid_on(values["paid_on"])
        if paid_on is None:
            check.error("paid_on", f"{values['paid_on']!r} is not a date like 2026-03-25.")
        elif paid_on > today:
            check.error("paid_on", "A payment cannot be received in the future.")
        elif paid_on < FIRST_DAY:
            check.error("paid_on", ledger.EARLIEST_PAYMENT_MESSAGE)
        if not check.errors and reference in existing:
            wanted = (number, amount, method, paid_on)
            student, old_amount, old_method, received = existing[reference]
            if (student, old_amount, old_method, _local_date(received)) != wanted:
                check.error(
                    "reference",
                    f"Reference {reference!r} is already a different payment "
                    f"({student}, {old_amount}, {old_method}); payments are never edited.",
                )
        if not check.errors and reference not in existing:
            student_id = student_ids[number]
            after = paid.get(student_id, Decimal(0)) + amount
            if after > MAX_MONEY:
                check.error("amount", _past_max_money_message(number))
            else:
                paid[student_id] = after
        report_progress(progress, done, total)
        if check.errors:
            plan.fail(row, reference, check.errors)
        elif reference in existing:
            plan.add(RowOutcome(row, UNCHANGED, reference))
        else:
            plan.work["create"].append(
                (row, student_ids[number], amount, method, reference, paid_on)
            )
            plan.add(RowOutcome(row, NEW, reference))
    return plan


def apply_payments(plan: Plan, *, by, base_url: str) -> dict[str, int]:
    term = plan.work["term"]
    students = _lock_students(sorted({work[1] for work in plan.work["create"]}))
    outcomes = {outcome.row: outcome for outcome in plan.outcomes}
    now = timezone.now()
    for row, student_id, amount, method, reference, paid_on in plan.work["create"]:
        received = timezone.make_aware(datetime.combine(paid_on, time(12)))
        try:
            recorded = ledger.record_payment(
                student=students[student_id],
                term=term,
                amount=amount,
                method=method,
                by=by,
                reference=reference,
                received_at=min(received, now),
                idempotency_key=uuid.uuid5(KEY_NAMESPACE, reference),
                note="Imported from a file",
                now=now,
            )
        except ledger.LedgerError as exc:
            if exc.code != "invalid_amount":
                raise
            # Paid since the plan read the totals: the ledger's own words.
            raise RowRefused(RowError(row, "amount", exc.message)) from exc
        if not recorded.created:
            # The same payment, recorded since the plan read the ledger (the
            # same file confirmed twice at once): this import did not write it.
            outcomes[row].status = UNCHANGED
    return {}


def _lock_students(student_ids: list[int]) -> dict[int, Student]:
    """The students, locked as the ledger locks each one, but all first and in id
    order: two imports paying the same students wait for each other instead of
    deadlocking. A student deleted since the plan is a conflict."""
    students: dict[int, Student] = {}
    for chunk in chunked(student_ids):
        students.update(
            (student.pk, student)
            for student in Student.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        )
    if len(students) < len(student_ids):
        raise ImportConflict(
            "A student in this file was deleted while it was being imported, so nothing was "
            "imported. Import the file again."
        )
    return students


def _past_max_money_message(number: str) -> str:
    return (
        f"This would take the payments of student {number} for the term past {MAX_MONEY}, "
        "the most the ledger holds."
    )


def export_payments() -> Iterator[tuple]:
    rows = Payment.objects.order_by("received_at", "pk").values_list(
        "student__student_number", "amount", "method", "reference", "received_at"
    )
    for number, amount, method, reference, received in rows.iterator(chunk_size=2000):
        yield number, f"{amount:.2f}", method, reference, _local_date(received).isoformat()
