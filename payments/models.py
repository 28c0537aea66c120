"""The fee ledger: terms, charges, payments and their reversals.

Money rows are append-only. A charge, a payment or a reversal is never edited
or deleted once written (save() of an existing row, delete() and the queryset
update()/delete() all raise ImmutableEntryError; on PostgreSQL triggers from
migration 0002 refuse the same to any client); a mistake is undone by a new
entry. payments/ledger.py is the only writer, payments/selectors.py computes
balances from these rows in the database.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from attendance.models import Student

MONEY = {"max_digits": 12, "decimal_places": 2}


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
    name = models.CharField(max_length=100)
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
