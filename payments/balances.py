"""Balances recomputed from the entries: what `verify_ledger` compares with the rows.

Reads only. The ledger keeps one Balance row per student and term as it
writes each entry; this module sums the entries again, for a batch of
students at a time, and reports every row that disagrees. The entries are the
truth: a row that differs has drifted (a bug, or a change made behind the
ledger's back), and `ledger.repair_balances` writes these figures over it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from payments.models import Balance, Charge, DueDateExtension, Payment, Term

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
FIELDS = ("billed", "adjustments", "paid", "charge_count", "due_on")


@dataclass(frozen=True)
class Figures:
    """What a balance row holds: the sums of the entries and the due date."""

    billed: Decimal = ZERO
    adjustments: Decimal = ZERO
    paid: Decimal = ZERO
    charge_count: int = 0
    due_on: date | None = None

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


@dataclass(frozen=True)
class Drift:
    student_id: int
    term_id: int
    row: Figures | None  # None: the row is missing
    expected: Figures
    fields: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.row is None:
            return "no balance row; " + ", ".join(
                f"{name} {getattr(self.expected, name)}" for name in FIELDS
            )
        return ", ".join(
            f"{name} {getattr(self.row, name)} in the row, {getattr(self.expected, name)} "
            "from the entries"
            for name in self.fields
        )


def _money(value) -> Decimal:
    # SQLite sums decimals as floats; cents are what the ledger keeps.
    return ZERO if value is None else Decimal(value).quantize(CENT)


def expected_figures(*, term: Term, student_ids: Iterable[int]) -> dict[int, Figures]:
    """The figures of every student in `student_ids` who has an entry or an
    extension in `term`, summed from the entries (three queries)."""
    ids = list(student_ids)
    found: dict[int, dict] = {}

    def row(student_id: int) -> dict:
        return found.setdefault(
            student_id,
            {
                "billed": ZERO,
                "adjustments": ZERO,
                "paid": ZERO,
                "charge_count": 0,
                "due_on": term.due_on,
            },
        )

    charges = (
        Charge.objects.filter(term=term, student_id__in=ids)
        .order_by()
        .values("student_id")
        .annotate(
            billed=Sum("amount", filter=Q(kind=Charge.Kind.TERM_FEE)),
            adjustments=Sum("amount", filter=~Q(kind=Charge.Kind.TERM_FEE)),
            n=Count("pk"),
        )
    )
    for c in charges:
        row(c["student_id"]).update(
            billed=_money(c["billed"]), adjustments=_money(c["adjustments"]), charge_count=c["n"]
        )
    payments = (
        Payment.objects.filter(term=term, student_id__in=ids)
        .order_by()
        .values("student_id")
        .annotate(paid=Sum("amount", filter=Q(reversal__isnull=True)))
    )
    for p in payments:
        row(p["student_id"])["paid"] = _money(p["paid"])
    extensions = DueDateExtension.objects.filter(term=term, student_id__in=ids).values_list(
        "student_id", "due_on"
    )
    for student_id, due_on in extensions:
        row(student_id)["due_on"] = due_on
    return {student_id: Figures(**values) for student_id, values in found.items()}


def stored_figures(*, term: Term, student_ids: Iterable[int]) -> dict[int, Figures]:
    rows = Balance.objects.filter(term=term, student_id__in=list(student_ids)).values(
        "student_id", *FIELDS
    )
    return {
        r["student_id"]: Figures(
            billed=_money(r["billed"]),
            adjustments=_money(r["adjustments"]),
            paid=_money(r["paid"]),
            charge_count=r["charge_count"],
            due_on=r["due_on"],
        )
        for r in rows
    }


def find_drift(*, term: Term, student_ids: Iterable[int]) -> list[Drift]:
    """Rows of these students in `term` that disagree with their entries (four queries).

    A missing row is drift only when the entries say something: a student with
    no entries and no extension reads NOT_BILLED with or without an empty row.
    """
    ids = list(student_ids)
    expected = expected_figures(term=term, student_ids=ids)
    stored = stored_figures(term=term, student_ids=ids)
    empty = Figures(due_on=term.due_on)
    drifts = []
    for student_id in sorted(expected.keys() | stored.keys()):
        want = expected.get(student_id, empty)
        have = stored.get(student_id)
        if have is None:
            if want != empty:
                drifts.append(
                    Drift(student_id=student_id, term_id=term.pk, row=None, expected=want)
                )
            continue
        wrong = tuple(name for name in FIELDS if getattr(have, name) != getattr(want, name))
        if wrong:
            drifts.append(
                Drift(student_id=student_id, term_id=term.pk, row=have, expected=want, fields=wrong)
            )
    return drifts
