"""The office's view of a term: totals and the collection chart. Reads only.

Two queries whatever the size of the school: one aggregate over the term's
balance rows, one over its valid payments grouped by day.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from payments.models import Balance, Payment, Term

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(CENT)


@dataclass(frozen=True)
class TermTotals:
    billed: Decimal  # every charge: fees and extras less discounts and scholarships
    collected: Decimal  # payments that are not voided
    outstanding: Decimal  # what students who owe still owe (credits not netted)
    credit: Decimal  # what the school holds for students who overpaid
    owing: int  # students with something to pay
    overdue: int  # of whom past their due date

    @property
    def collected_percent(self) -> int | None:
        if self.billed <= 0:
            return None
        return round(self.collected * 100 / self.billed)


def term_totals(*, term: Term, today: date) -> TermTotals:
    owing = Q(state__in=Balance.OWING)
    row = Balance.objects.filter(term=term).aggregate(
        billed=Sum(F("billed") + F("adjustments")),
        collected=Sum("paid"),
        outstanding=Sum("balance", filter=owing),
        credit=Sum("balance", filter=Q(state=Balance.State.CREDIT)),
        owing=Count("pk", filter=owing),
        overdue=Count("pk", filter=owing & Q(due_on__lt=today)),
    )
    return TermTotals(
        billed=_money(row["billed"]),
        collected=_money(row["collected"]),
        outstanding=_money(row["outstanding"]),
        credit=abs(_money(row["credit"])),
        owing=row["owing"],
        overdue=row["overdue"],
    )


@dataclass(frozen=True)
class Bar:
    """One week of the chart, laid out for the SVG (user units)."""

    starts_on: date
    amount: Decimal
    cumulative: Decimal
    x: float
    cx: float  # the centre, where the labels go
    y: float
    height: float
    label_y: float
    is_future: bool

    @property
    def label(self) -> str:
        """The amount above the bar, short enough for its width: 950, 1.2k, 35k, 1.4M."""
        value = float(self.amount)
        if value >= 999_500:
            return f"{value / 1_000_000:.1f}M"
        if value >= 9_995:
            return f"{value / 1000:.0f}k"
        if value >= 1000:
            return f"{value / 1000:.1f}k"
        return f"{value:.0f}"


@dataclass(frozen=True)
class CollectionChart:
    bars: list[Bar]
    total: Decimal
    width: int
    height: int
    bar_width: float
    baseline: float

    @property
    def date_y(self) -> float:
        return self.baseline + 16

    @property
    def has_payments(self) -> bool:
        return self.total > 0


CHART_HEIGHT = 160
PLOT_TOP, PLOT_BOTTOM = 24, 132  # room for the value above a bar and the date below
BAR_STEP = 44


def collection_chart(*, term: Term, today: date) -> CollectionChart:
    """What was collected each week of the term, from its first day (one query).

    Payments received before the term count in its first week, and after its
    last day in its last week, so the bars add up to the term's collections.
    """
    days = (
        Payment.objects.filter(term=term, reversal__isnull=True)
        .annotate(day=TruncDate("received_at"))
        .order_by()
        .values("day")
        .annotate(amount=Sum("amount"))
        .values_list("day", "amount")
    )
    weeks = max(1, (term.ends_on - term.starts_on).days // 7 + 1)
    amounts = [ZERO] * weeks
    for day, amount in days:
        index = min(max((day - term.starts_on).days // 7, 0), weeks - 1)
        amounts[index] += _money(amount)
    total = sum(amounts, ZERO)
    tallest = max(amounts) or Decimal(1)
    bar_width = BAR_STEP * 0.7
    bars = []
    cumulative = ZERO
    for index, amount in enumerate(amounts):
        cumulative += amount
        height = float(amount / tallest) * (PLOT_BOTTOM - PLOT_TOP)
        starts_on = term.starts_on + timedelta(days=7 * index)
        x = index * BAR_STEP + (BAR_STEP - bar_width) / 2
        bars.append(
            Bar(
                starts_on=starts_on,
                amount=amount,
                cumulative=cumulative,
                x=round(x, 1),
                cx=round(x + bar_width / 2, 1),
                y=round(PLOT_BOTTOM - height, 1),
                height=round(height, 1),
                label_y=round(PLOT_BOTTOM - height - 6, 1),
                is_future=starts_on > today,
            )
        )
    return CollectionChart(
        bars=bars,
        total=total,
        width=weeks * BAR_STEP,
        height=CHART_HEIGHT,
        bar_width=round(bar_width, 1),
        baseline=PLOT_BOTTOM,
    )
