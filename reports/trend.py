"""A student's attendance rate after each session, laid out for a server-drawn SVG.

One line per course: the rate (present and late over counted sessions, as
everywhere) after each of the student's sessions, placed by date over the
period (the term). Excused sessions add a point that leaves the rate as it
was. The page draws the SVG from these numbers and repeats them in a table.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from attendance.models import Course

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 186
SERIES_STYLES = 6  # series-0 ... series-5 in reports.css: colour and dash pattern


@dataclass
class TrendPoint:
    when: datetime
    status: str
    rate: float | None  # after this session
    x: float = 0
    y: float = 0

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


@dataclass
class TrendSeries:
    course: Course
    style: int
    points: list[TrendPoint] = field(default_factory=list)

    @property
    def plotted(self) -> list[TrendPoint]:
        return [p for p in self.points if p.rate is not None]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.plotted)


@dataclass
class Gridline:
    label: str
    y: float


@dataclass
class TrendChart:
    series: list[TrendSeries]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    bottom: int = BOTTOM
    gridlines: list[Gridline] = field(default_factory=list)
    thresholds: list[Gridline] = field(default_factory=list)
    first_label: str = ""
    last_label: str = ""

    @property
    def rows(self) -> list[tuple[TrendPoint, TrendSeries]]:
        """Every point with its series, in time order: the table under the chart."""
        return sorted(
            ((p, s) for s in self.series for p in s.points), key=lambda pair: pair[0].when
        )


def _y(rate: float) -> float:
    return round(BOTTOM - rate * (BOTTOM - TOP), 1)


def trend_chart(
    *,
    courses: list[Course],
    records: Iterable[tuple[int, datetime, str]],
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> TrendChart | None:
    """The chart of `records` ((course id, session start, status), in time order), or
    None when there is nothing to draw."""
    by_course = {
        c.pk: TrendSeries(course=c, style=i % SERIES_STYLES) for i, c in enumerate(courses)
    }
    tallies = {pk: [0, 0] for pk in by_course}  # attended, counted
    for course_id, when, status in records:
        series = by_course.get(course_id)
        if series is None:
            continue
        tally = tallies[course_id]
        if status in ("present", "late"):
            tally[0] += 1
        if status != "excused":
            tally[1] += 1
        rate = tally[0] / tally[1] if tally[1] else None
        series.points.append(TrendPoint(when=when, status=status, rate=rate))
    drawn = [s for s in by_course.values() if s.points]
    if not drawn:
        return None
    moments = [p.when for s in drawn for p in s.points]
    zone = timezone.get_current_timezone()
    start = (
        datetime.combine(starts_on, datetime.min.time(), tzinfo=zone) if starts_on else min(moments)
    )
    end = datetime.combine(ends_on, datetime.max.time(), tzinfo=zone) if ends_on else max(moments)
    span = (end - start).total_seconds()
    for series in drawn:
        for point in series.points:
            share = 0.5 if span <= 0 else (point.when - start).total_seconds() / span
            share = min(max(share, 0.0), 1.0)
            point.x = round(LEFT + share * (WIDTH - RIGHT - LEFT), 1)
            point.y = _y(point.rate) if point.rate is not None else BOTTOM
    thresholds = sorted({s.course.warn_below_percent for s in drawn})
    return TrendChart(
        series=drawn,
        gridlines=[Gridline(f"{p}%", _y(p / 100)) for p in (0, 25, 50, 75, 100)],
        thresholds=[Gridline(f"{p}%", _y(p / 100)) for p in thresholds],
        first_label=timezone.localtime(start).strftime("%-d %b %Y"),
        last_label=timezone.localtime(end).strftime("%-d %b %Y"),
    )
