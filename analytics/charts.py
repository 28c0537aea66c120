"""The analytics page's four charts, laid out for server-rendered SVG.

No database access: stats.py reads the figures, this module places every mark
and label in SVG units, so the templates only write attributes (the strict CSP
allows no style attributes, and the sizes are attributes). Every mark gets its
number written beside it, so nothing needs a hover to be read.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from analytics.stats import ArrivalBin, SessionRate, SlotRate, Step

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{round(rate * 100)}%"


@dataclass(frozen=True)
class Tick:
    """A gridline and its label on the value axis."""

    y: float
    label: str


@dataclass(frozen=True)
class Frame:
    """The plot's box: where the axes and their titles go."""

    width: int
    height: int
    left: int
    top: int
    right: int  # x of the plot's right edge
    bottom: int  # y of the baseline

    @property
    def x_title(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, self.height - 4)

    @property
    def y_title_x(self) -> int:
        return 12

    @property
    def y_title_y(self) -> float:
        return (self.top + self.bottom) / 2


def _value_ticks(top: int, bottom: int, most: int, *, steps: int = 4, suffix: str = "") -> list:
    """Gridlines from 0 to `most` in `steps` even steps (whole numbers)."""
    ticks = []
    for i in range(steps + 1):
        value = most * i / steps
        y = bottom - (bottom - top) * i / steps
        label = f"{round(value)}{suffix}"
        if ticks and ticks[-1].label == label:
            continue
        ticks.append(Tick(round(y, 1), label))
    return ticks


# --- (1) the rate of each session -----------------------------------------------------------


@dataclass(frozen=True)
class RateBar:
    row: SessionRate
    x: float
    cx: float
    y: float
    height: float
    label: str
    label_y: float
    day: str
    month: str  # written under the first bar of each month

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.row.started_at)


@dataclass(frozen=True)
class RateChart:
    frame: Frame
    bars: list[RateBar]
    bar_width: float
    ticks: list[Tick]
    day_y: int
    month_y: int
    average: str


RATE_STEP, PLOT_TOP, PLOT_HEIGHT = 34, 24, 160


def rate_chart(rows: list[SessionRate]) -> RateChart:
    left, top = 48, PLOT_TOP
    bottom = top + PLOT_HEIGHT
    width = left + max(len(rows), 1) * RATE_STEP + 8
    bar_width = RATE_STEP * 0.64
    bars, last_month = [], None
    for i, row in enumerate(rows):
        x = left + i * RATE_STEP + (RATE_STEP - bar_width) / 2
        height = (row.rate or 0) * PLOT_HEIGHT
        local = timezone.localtime(row.started_at)
        month = local.strftime("%b")
        bars.append(
            RateBar(
                row=row,
                x=round(x, 1),
                cx=round(x + bar_width / 2, 1),
                y=round(bottom - height, 1),
                height=round(height, 1),
                label="–" if row.rate is None else str(round(row.rate * 100)),
                label_y=round(bottom - height - 4, 1),
                day=str(local.day),
                month=month if month != last_month else "",
            )
        )
        last_month = month
    attended = sum(r.attended for r in rows)
    counted = sum(r.counted for r in rows)
    return RateChart(
        frame=Frame(width, bottom + 50, left, top, width - 8, bottom),
        bars=bars,
        bar_width=round(bar_width, 1),
        ticks=_value_ticks(top, bottom, 100, suffix="%"),
        day_y=bottom + 14,
        month_y=bottom + 27,
        average=percent(attended / counted if counted else None),
    )


# --- (2) arrival minutes --------------------------------------------------------------------


@dataclass(frozen=True)
class CountBar:
    label: str
    count: int
    x: float
    cx: float
    y: float
    height: float
    label_y: float


@dataclass(frozen=True)
class Histogram:
    frame: Frame
    bars: list[CountBar]
    bar_width: float
    ticks: list[Tick]
    label_y: int
    total: int


HIST_STEP = 58


def arrival_chart(bins: list[ArrivalBin]) -> Histogram:
    left, top = 48, PLOT_TOP
    bottom = top + PLOT_HEIGHT
    width = left + len(bins) * HIST_STEP + 8
    most = max((b.count for b in bins), default=0)
    scale_top = _nice_ceiling(most)
    bar_width = HIST_STEP - 6
    bars = []
    for i, b in enumerate(bins):
        x = left + i * HIST_STEP + 3
        height = b.count / scale_top * PLOT_HEIGHT if scale_top else 0
        bars.append(
            CountBar(
                label=b.label,
                count=b.count,
                x=x,
                cx=round(x + bar_width / 2, 1),
                y=round(bottom - height, 1),
                height=round(height, 1),
                label_y=round(bottom - height - 4, 1),
            )
        )
    return Histogram(
        frame=Frame(width, bottom + 40, left, top, width - 8, bottom),
        bars=bars,
        bar_width=bar_width,
        ticks=_value_ticks(top, bottom, scale_top),
        label_y=bottom + 14,
        total=sum(b.count for b in bins),
    )


def _nice_ceiling(value: int) -> int:
    """The smallest of 4, 8, 12, 20, 40, 80, 100, 200, … at or above `value`: even gridlines."""
    if value <= 0:
        return 0
    step = 1
    while True:
        for m in (4, 8, 12, 20):
            if value <= m * step:
                return m * step
        step *= 10


# --- (3) weekday by hour ---------------------------------------------------------------------

# Rate classes of the heat map, lowest first: (lower bound, label).
HEAT_CLASSES = (
    (0.0, "below 50%"),
    (0.5, "50–69%"),
    (0.7, "70–84%"),
    (0.85, "85–94%"),
    (0.95, "95% and up"),
)


def heat_class(rate: float | None) -> str:
    if rate is None:
        return "heat-none"
    level = max(i for i, (low, _label) in enumerate(HEAT_CLASSES) if rate >= low)
    return f"heat-{level}"


@dataclass(frozen=True)
class HeatCell:
    weekday: int
    hour: int
    slot: SlotRate | None
    x: int
    y: int
    css: str
    label: str

    @property
    def weekday_name(self) -> str:
        return WEEKDAY_NAMES[self.weekday - 1]

    @property
    def cx(self) -> float:
        return self.x + HEAT_W / 2

    @property
    def cy(self) -> float:
        return self.y + HEAT_H / 2 + 4


@dataclass(frozen=True)
class HeatMap:
    frame: Frame
    rows: list[tuple[str, float]]  # weekday label and its text's y
    columns: list[tuple[str, float]]  # hour label and its text's x
    cells: list[HeatCell]
    cell_width: int
    cell_height: int
    slots: list[SlotRate]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)


HEAT_W, HEAT_H = 52, 34


def heat_map(slots: list[SlotRate]) -> HeatMap | None:
    """Weekdays down (Monday to Friday always, a weekend day if it had classes), hours
    across (from the earliest class's to the latest's)."""
    if not slots:
        return None
    weekdays = sorted({1, 2, 3, 4, 5} | {s.weekday for s in slots})
    hours = list(range(min(s.hour for s in slots), max(s.hour for s in slots) + 1))
    found = {(s.weekday, s.hour): s for s in slots}
    left, top = 48, 22
    cells = []
    for r, weekday in enumerate(weekdays):
        for c, hour in enumerate(hours):
            slot = found.get((weekday, hour))
            cells.append(
                HeatCell(
                    weekday=weekday,
                    hour=hour,
                    slot=slot,
                    x=left + c * HEAT_W,
                    y=top + r * HEAT_H,
                    css=heat_class(slot.rate if slot else None),
                    label=percent(slot.rate) if slot else "",
                )
            )
    # Wide enough for the axis title even when every class starts in one hour.
    width = max(left + len(hours) * HEAT_W + 4, left + 140)
    bottom = top + len(weekdays) * HEAT_H
    return HeatMap(
        frame=Frame(width, bottom + 24, left, top, width - 4, bottom),
        rows=[(WEEKDAYS[d - 1], top + r * HEAT_H + HEAT_H / 2 + 4) for r, d in enumerate(weekdays)],
        columns=[(f"{h:02d}:00", left + c * HEAT_W + HEAT_W / 2) for c, h in enumerate(hours)],
        cells=cells,
        cell_width=HEAT_W - 2,
        cell_height=HEAT_H - 2,
        slots=slots,
        legend=[(f"heat-{i}", label) for i, (_low, label) in enumerate(HEAT_CLASSES)],
    )


# --- (4) devices connected over a session ---------------------------------------------------


@dataclass(frozen=True)
class StepLabel:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class StepChart:
    frame: Frame
    path: str
    area: str
    ticks: list[Tick]
    time_ticks: list[tuple[float, str]]
    labels: list[StepLabel]
    steps: list[Step]
    peak: int


STEP_PLOT_WIDTH = 640


def step_chart(steps: list[Step]) -> StepChart | None:
    """The running count as a step line: flat until the next minute with a change."""
    if not steps:
        return None
    left, top = 48, PLOT_TOP
    bottom = top + PLOT_HEIGHT
    start, end = steps[0].at, steps[-1].at
    span = max((end - start).total_seconds(), 60.0)
    peak = max(s.connected for s in steps)
    scale_top = _nice_ceiling(peak) or 4

    def x_of(at: datetime) -> float:
        return round(left + (at - start).total_seconds() / span * STEP_PLOT_WIDTH, 1)

    def y_of(n: int) -> float:
        return round(bottom - n / scale_top * PLOT_HEIGHT, 1)

    path = [f"M{x_of(steps[0].at)} {y_of(steps[0].connected)}"]
    for step in steps[1:]:
        path.append(f"H{x_of(step.at)} V{y_of(step.connected)}")
    line = " ".join(path)
    area = f"{line} V{bottom} H{x_of(steps[0].at)} Z"
    # A number at each change (but to 0), unless it would sit on the one before it.
    labels: list[StepLabel] = []
    previous = None
    for step in steps:
        if (previous is not None and step.connected == previous) or step.connected == 0:
            previous = step.connected  # 0 is on the axis already
            continue
        x, y = x_of(step.at), y_of(step.connected) - 5
        if labels and x - labels[-1].x < 22:
            # Too close: the newer count wins, unless the one before is the peak.
            if labels[-1].text == str(peak) and step.connected != peak:
                previous = step.connected
                continue
            labels.pop()
        labels.append(StepLabel(x=x, y=max(y, 10), text=str(step.connected)))
        previous = step.connected
    return StepChart(
        frame=Frame(
            left + STEP_PLOT_WIDTH + 24, bottom + 40, left, top, left + STEP_PLOT_WIDTH, bottom
        ),
        path=line,
        area=area,
        ticks=_value_ticks(top, bottom, scale_top),
        time_ticks=[
            (x_of(at), timezone.localtime(at).strftime("%H:%M")) for at in _time_ticks(start, end)
        ],
        labels=labels,
        steps=steps,
        peak=peak,
    )


def _time_ticks(start: datetime, end: datetime) -> list[datetime]:
    """Round local times between start and end, at most about eight of them."""
    minutes = (end - start).total_seconds() / 60
    every = next((m for m in (5, 10, 15, 30, 60, 120) if minutes / m <= 8), 240)
    local = timezone.localtime(start)
    first = local.replace(second=0, microsecond=0) + timedelta(minutes=-(local.minute % every))
    if first < local:
        first += timedelta(minutes=every)
    ticks, at = [], first
    while at <= end:
        ticks.append(at)
        at += timedelta(minutes=every)
    return ticks
