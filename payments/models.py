"""The fee ledger: terms, charges, payments and their reversals.

Money rows are append-only. A charge, a payment or a reversal is never edited
or deleted once written (save() of an existing row, delete() and the queryset
update()/delete() all raise ImmutableEntryError; on PostgreSQL triggers from
migration 0002 refuse the same to any client); a mistake is undone by a new
entry. payments/ledger.py is the only writer, payments/selectors.py reads.

Balance is the one row that changes: each student's fees for a term, kept by
the ledger in the transaction of every entry, so lists read one indexed row
instead of summing the entries. The entries stay the truth; `manage.py
verify_ledger` recomputes every balance from them.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Round
from django.db.models.lookups import Exact, LessThan

from attendance.days import FIRST_DAY, LAST_DAY
from attendance.models import Student
from attendance.validators import no_control_characters

MONEY = {"max_digits": 12, "decimal_places": 2}
# The most a money column holds: ten digits before the point.
MAX_MONEY = Decimal("9999999999.99")


class ImmutableEntryError(Exception):
    """A ledger entry was about to be changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableEntryError(f"{self.model.__name__} rows are never updated.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableEntryError(f"{self.model.__name__} rows are never updated.")

    def delete(self):
        raise ImmutableEntryError(f"{self.model.__name__} rows are never deleted.")

    # What the deletion collector uses for fast deletes.
    def _raw_delete(self, using):
        raise ImmutableEntryError(f"{self.model.__name__} rows are never deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEntryError(
                f"{type(self).__name__} #{self.pk} is a ledger entry and is never edited; "
                "record a new entry instead."
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEntryError(
            f"{type(self).__name__} #{self.pk} is a ledger entry and is never deleted."
        )


class Term(models.Model):
    name = models.CharField(max_length=100, validators=[no_control_characters])
    year = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()
    fee = models.DecimalField(**MONEY, help_text="Charged to every active student on billing.")
    due_on = models.DateField(help_text="Fees are overdue after this date.")
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-year", "-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_term"
            ),
            models.UniqueConstraint(fields=["name", "year"], name="unique_term_name_year"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="term_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="term_ends_after_start"
            ),
            # The days the timetable and the sweep know (attendance.sweeper): a due
            # date of 9999-12-31 leaves no room for an extension or a reminder.
            models.CheckConstraint(
                condition=Q(
                    year__gte=FIRST_DAY.year,
                    year__lte=LAST_DAY.year,
                    starts_on__gte=FIRST_DAY,
                    ends_on__lte=LAST_DAY,
                    due_on__gte=FIRST_DAY,
                    due_on__lte=LAST_DAY,
                ),
                name="term_dates_in_range",
                violation_error_message=(
                    f"A term's year and dates must fall between {FIRST_DAY:%Y} and {LAST_DAY:%Y}."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.year})"


class Charge(AppendOnlyModel):
    """What a student owes for a term. Discounts and scholarships are negative charges."""

    class Kind(models.TextChoices):
        TERM_FEE = "term_fee", "Term fee"
        EXTRA = "extra", "Extra charge"
        DISCOUNT = "discount", "Discount"
        SCHOLARSHIP = "scholarship", "Scholarship"

    CREDIT_KINDS = frozenset({Kind.DISCOUNT, Kind.SCHOLARSHIP})

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="charges")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY, help_text="Negative for discounts and scholarships.")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["term", "student"],
                condition=Q(kind="term_fee"),
                name="one_term_fee_per_student",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="term_fee", amount__gte=0)
                    | Q(kind="extra", amount__gt=0)
                    | Q(kind__in=["discount", "scholarship"], amount__lt=0)
                ),
                name="charge_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="term_fee") | ~Q(reason=""), name="adjustment_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["student", "term"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} for {self.student_id} in {self.term}"


class Payment(AppendOnlyModel):
    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        MOBILE_MONEY = "mobile_money", "Mobile money"
        CHEQUE = "cheque", "Cheque"

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="payments")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(
        max_length=64, unique=True, help_text="The receipt number; unique across all payments."
    )
    received_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    # One per submitted form: a double-clicked submit finds the first payment.
    idempotency_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["student", "term"])]

    def __str__(self) -> str:
        return f"Payment {self.reference} ({self.amount})"

    @property
    def is_voided(self) -> bool:
        try:
            return self.reversal is not None
        except PaymentReversal.DoesNotExist:
            return False


class PaymentReversal(AppendOnlyModel):
    """Voids one payment: it stays on the statement but no longer counts."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    reason = models.CharField(max_length=300)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversed_at = models.DateTimeField()

    class Meta:
        ordering = ["reversed_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="reversal_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Reversal of {self.payment.reference}"


class DueDateExtension(models.Model):
    """An agreed later due date for one student in one term (a payment plan)."""

    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="due_date_extensions"
    )
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="due_date_extensions")
    due_on = models.DateField()
    reason = models.CharField(max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "term"], name="one_extension_per_term"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.term}: due {self.due_on}"


# A generated column may not read another one, so the state repeats the sum.
# Rounded to cents: SQLite (the demo) adds decimals as floats, and a 119.70
# discount with 0.10 and 0.20 paid must still leave exactly nothing to pay.
_BALANCE = Round(F("billed") + F("adjustments") - F("paid"), 2)
_NOTHING_PAID = Exact(Round(F("paid"), 2), 0)


class Balance(models.Model):
    """One student's fees for one term: what the ledger has posted so far.

    Written only by payments/ledger.py, in the same transaction as each entry
    (bill, adjustment, payment, void, due-date extension), and recomputed from
    the entries by `manage.py verify_ledger`. `balance` and `state` are
    generated by the database from the sums, so they cannot disagree with them.
    Not append-only (no trigger): it is the entries' running total.

    `state` is the status without the calendar: OVERDUE is UNPAID or PARTIAL
    with `due_on` before today, which the (term, state, due_on) index answers
    as a range, whatever the date.
    """

    class State(models.TextChoices):
        NOT_BILLED = "NOT_BILLED", "Not billed"
        UNPAID = "UNPAID", "Unpaid"
        PARTIAL = "PARTIAL", "Partial"
        PAID = "PAID", "Paid"
        CREDIT = "CREDIT", "Credit"

    OWING = ("UNPAID", "PARTIAL")  # overdue once due_on has passed

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="balances")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="balances")
    billed = models.DecimalField(**MONEY, default=0, help_text="Term fee charges.")
    adjustments = models.DecimalField(
        **MONEY, default=0, help_text="Extra charges less discounts and scholarships."
    )
    paid = models.DecimalField(**MONEY, default=0, help_text="Payments that are not voided.")
    charge_count = models.PositiveIntegerField(
        default=0, help_text="Charge entries of any kind; none and nothing paid is NOT_BILLED."
    )
    due_on = models.DateField(help_text="The agreed extension's date, else the term's.")
    balance = models.GeneratedField(
        expression=_BALANCE,
        output_field=models.DecimalField(max_digits=14, decimal_places=2),
        db_persist=True,
    )
    state = models.GeneratedField(
        expression=Case(
            When(Exact(F("charge_count"), 0) & _NOTHING_PAID, then=Value("NOT_BILLED")),
            When(LessThan(_BALANCE, 0), then=Value("CREDIT")),
            When(Exact(_BALANCE, 0), then=Value("PAID")),
            When(_NOTHING_PAID, then=Value("UNPAID")),
            default=Value("PARTIAL"),
        ),
        output_field=models.CharField(max_length=12, choices=State.choices),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"], name="one_balance_per_student_term"
            ),
            models.CheckConstraint(condition=Q(billed__gte=0), name="balance_billed_not_negative"),
            models.CheckConstraint(condition=Q(paid__gte=0), name="balance_paid_not_negative"),
            models.CheckConstraint(
                condition=Q(charge_count__gt=0) | Q(billed=0, adjustments=0),
                name="balance_no_charges_no_sums",
            ),
            # PostgreSQL's numeric(12, 2) refuses a larger sum by itself; SQLite
            # stores any number, which Django could then not read back.
            models.CheckConstraint(
                condition=Q(billed__lte=MAX_MONEY, paid__lte=MAX_MONEY)
                & Q(adjustments__gte=-MAX_MONEY, adjustments__lte=MAX_MONEY),
                name="balance_sums_within_money",
            ),
        ]
        indexes = [
            # Every status filter of one term is a range here; OVERDUE is
            # state IN (UNPAID, PARTIAL) AND due_on < today.
            models.Index(fields=["term", "state", "due_on"], name="balance_status_idx"),
            models.Index(fields=["term", "balance"], name="balance_amount_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.term_id}: {self.balance} ({self.state})"
