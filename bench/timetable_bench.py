#!/usr/bin/env python3
"""Timetable benchmark: one sweeper tick in a school with 2,000 weekly meetings, on PostgreSQL.

It makes its own database (rollcall_bench_timetable, dropped and made again each
run), seeds 400 courses of 30 students, each meeting every weekday (2,000
meetings) at one of nine hours, and ten weeks of history (20,000 held classes
with their ended sessions). Then it times sweeps, as of given moments of Monday
2 March 2026, in this process (the in-memory channel layer: publishing costs
what it costs, with nobody listening):

1. idle: a tick at 07:00, nothing due; every query and its time. The same tick
   in a school of 20 meetings shows that the count does not grow with the school;
2. opening: the tick at 07:55 that opens the 08:00 classes (46 of them);
3. ending: the tick at 09:05 that ends them, writing 46 registers of 30 students.

Cases 2 and 3 are put back after each run, so they can be repeated. The numbers
are printed, not asserted (timetable/tests/test_sweep_queries.py asserts the
query counts). Run it with `make bench-timetable`; see bench/README.md.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 50
MONDAY = date(2026, 3, 2)
COURSES = 400
STUDENTS_PER_COURSE = 30
HOURS = 9  # classes start on the hour from 08:00 to 16:00
HISTORY_WEEKS = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/rollcall_bench_timetable"
        ),
    )
    parser.add_argument("--ticks", type=int, default=30, help="idle ticks to time")
    parser.add_argument("--repeat", type=int, default=5, help="opening/ending ticks to time")
    args = parser.parse_args()
    url = urlsplit(args.database_url)
    if url.hostname not in {"127.0.0.1", "localhost"}:
        parser.error(f"{args.database_url}: the benchmark only talks to 127.0.0.1")
    if not url.scheme.startswith("postgres") or not url.path.strip("/"):
        parser.error("--database-url must name a PostgreSQL database")
    if not (1 <= args.ticks <= 1000 and 1 <= args.repeat <= 50):
        parser.error("use 1 to 1000 ticks and 1 to 50 repeats")
    return args


def fresh_database(database_url: str) -> None:
    import psycopg

    url = urlsplit(database_url)
    name = url.path.strip("/")
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        ATTENDANCE_IN_PROCESS_SWEEP="0",
        LOG_LEVEL="WARNING",
        LOG_DIR=str(ROOT / "artifacts" / "bench"),
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(courses: int) -> None:
    from attendance.models import Course, Enrollment, NetworkSession, Student
    from payments.models import Term
    from timetable.models import Meeting, Occurrence
    from timetable.schedule import meeting_times

    term = Term.objects.create(
        name=f"Bench term {courses}",
        year=2026,
        starts_on=date(2026, 1, 5),
        ends_on=date(2026, 4, 24),
        fee=0,
        due_on=date(2026, 1, 5),
    )
    made = Course.objects.bulk_create(
        Course(code=f"B{courses}-{i:04d}", title=f"Course {i}") for i in range(courses)
    )
    students = Student.objects.bulk_create(
        Student(student_number=f"B{courses}-{i:06d}", first_name="S", last_name=str(i))
        for i in range(courses * STUDENTS_PER_COURSE)
    )
    Enrollment.objects.bulk_create(
        Enrollment(course=course, student=students[c * STUDENTS_PER_COURSE + k])
        for c, course in enumerate(made)
        for k in range(STUDENTS_PER_COURSE)
    )
    meetings = Meeting.objects.bulk_create(
        Meeting(
            course=course,
            term=term,
            weekday=weekday,
            start_time=clock(8 + c % HOURS, 0),
            duration_minutes=60,
            room=f"R{c % 50}",
            valid_from=term.starts_on,
            valid_to=term.ends_on,
        )
        for c, course in enumerate(made)
        for weekday in range(5)
    )
    # History: every class of the ten weeks before, held, with its ended session.
    past = [
        (meeting, MONDAY - timedelta(weeks=w) + timedelta(days=meeting.weekday))
        for w in range(1, HISTORY_WEEKS + 1)
        for meeting in meetings
    ]
    sessions = []
    for n, (meeting, day) in enumerate(past):
        starts_at, ends_at = meeting_times(meeting, day)
        sessions.append(
            NetworkSession(
                course_id=meeting.course_id,
                date=day,
                started_at=starts_at - timedelta(minutes=5),
                scheduled_start=starts_at,
                ended_at=ends_at + timedelta(minutes=5),
                is_active=False,
                end_reason="scheduled",
                join_code=f"{n % 1_000_000:06d}",
                code_rotated_at=starts_at,
            )
        )
    sessions = NetworkSession.objects.bulk_create(sessions, batch_size=2000)
    Occurrence.objects.bulk_create(
        (
            Occurrence(
                meeting=meeting,
                course_id=meeting.course_id,
                date=day,
                starts_at=session.scheduled_start,
                ends_at=session.scheduled_start + timedelta(minutes=60),
                room=meeting.room,
                status="opened",
                session=session,
                created_at=session.started_at,
            )
            for (meeting, day), session in zip(past, sessions, strict=True)
        ),
        batch_size=2000,
    )


def at(hour: int, minute: int = 0) -> datetime:
    from timetable.schedule import local_datetime

    return local_datetime(MONDAY, clock(hour, minute))


def timed(work) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # a bounded deque: counting needs room
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
    return elapsed * 1000, len(queries), result


def put_back() -> None:
    """Undo the opening tick: Monday's occurrences, their sessions and registers."""
    from attendance.models import NetworkSession
    from timetable.models import Occurrence

    opened = Occurrence.objects.filter(date=MONDAY)
    ids = list(opened.values_list("session_id", flat=True))
    opened.delete()
    NetworkSession.objects.filter(pk__in=ids).delete()


def summary(label: str, values: list[float], queries: set[int], note: str = "") -> None:
    p95 = sorted(values)[max(0, round(len(values) * 0.95) - 1)]
    print(
        f"  {label:<34} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   "
        f"queries {'/'.join(str(q) for q in sorted(queries))}{note}"
    )


def main() -> None:
    args = parse_args()
    print(f"Timetable benchmark on {args.database_url}")
    started = time.perf_counter()
    fresh_database(args.database_url)
    setup_django(args.database_url)

    from django.db import connection

    from attendance.sweeper import sweep_once
    from timetable.models import Meeting, Occurrence
    from timetable.sweep import sweep_job

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # A school of 20 meetings first, for the query count of the same tick.
    seed(4)
    analyze()
    _ms, small_q, _ = timed(lambda: sweep_job(now=at(7)))
    seed(COURSES)
    analyze()
    print(
        f"  seeded in {time.perf_counter() - started:.0f} s: {Meeting.objects.count():,} "
        f"meetings, {Occurrence.objects.count():,} held classes in the history, "
        f"{(COURSES + 4) * STUDENTS_PER_COURSE:,} students"
    )

    # 1. Idle ticks: the timetable job alone, then the whole sweep (every SWEEP_JOBS job).
    job_ms, job_q, sweep_ms, sweep_q = [], set(), [], set()
    for _ in range(args.ticks):
        ms, q, done = timed(lambda: sweep_job(now=at(7)))
        assert not done, done
        job_ms.append(ms)
        job_q.add(q)
        ms, q, _ = timed(lambda: sweep_once(now=at(7)))
        sweep_ms.append(ms)
        sweep_q.add(q)
    print("1. idle tick (07:00, nothing due):")
    summary("timetable job, 2,020 meetings", job_ms, job_q)
    summary("whole sweep (sweep_once)", sweep_ms, sweep_q)
    print(f"  the timetable job with 20 meetings: {small_q} queries")

    # 2 and 3: the 08:00 classes open at 07:55 and end at 09:05.
    open_ms, open_q, end_ms, end_q = [], set(), [], set()
    opened = records = 0
    for _ in range(args.repeat):
        ms, q, done = timed(lambda: sweep_job(now=at(7, 55)))
        opened = done.get("classes_opened", 0)
        open_ms.append(ms)
        open_q.add(q)
        ms, q, done = timed(lambda: sweep_job(now=at(9, 5)))
        records = done.get("class_records", 0)
        end_ms.append(ms)
        end_q.add(q)
        put_back()
    each = f"  ({statistics.median(open_ms) / max(opened, 1):.1f} ms a class)"
    print(f"2. opening tick (07:55): {opened} classes opened")
    summary("timetable job", open_ms, open_q, each)
    each = f"  ({statistics.median(end_ms) / max(opened, 1):.1f} ms a class)"
    print(f"3. ending tick (09:05): {opened} sessions ended, {records} records written")
    summary("timetable job", end_ms, end_q, each)
    idle = statistics.median(sweep_ms)
    verdict = "within" if idle <= TARGET_MS else "OVER"
    print(f"Idle whole tick p50 {idle:.1f} ms: {verdict} the {TARGET_MS} ms target.")
    print("Load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
