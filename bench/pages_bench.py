"""Pages at a large school: queries, p50 and p95 per page, in-process through Django's client.

    make bench-pages                      # 10,000 students
    .venv/bin/python bench/pages_bench.py --students 2000 --requests 20

It grows a school in its own PostgreSQL database (rollcall_bench_pages on the
server of DATABASE_URL, or --database-url): N students, an active term billed
to all of them whose due date has passed, a third of them paying (in full, in
part or too much, through payments.ledger), some on payment plans; and a
course of 300 students with 60 ended sessions; two of them sign in for /me/ (one
with that course only, one with four more). A second run reuses what is
there and adds only what is missing. Then it requests each page --requests
times (after a warm-up) and prints a table: queries, p50, p95 and size; for
the exports also the time to the first byte and to the last. The last column
is this process's CPU per request (Django's share; PostgreSQL's is apart), which
a busy machine stretches less than the wall-clock times.
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--course-students", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL"),
        help="A PostgreSQL URL; the bench uses its server with its own database name.",
    )
    parser.add_argument("--database-name", default="rollcall_bench_pages")
    args = parser.parse_args()
    if args.students < args.course_students or args.requests < 1 or args.sessions < 1:
        parser.error("need --students >= --course-students, --requests >= 1, --sessions >= 1")
    if not args.database_url or not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL (or --database-url) to a PostgreSQL server")
    return args


def bench_database(url: str, name: str) -> str:
    """The URL of the bench's own database on the same server, created if missing."""
    import psycopg

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parts._replace(path=f"/{name}"))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    for name in ("REDIS_URL", "CHANNEL_LAYER"):
        os.environ.pop(name, None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ATTENDANCE_IN_PROCESS_SWEEP"] = "0"
    # The test client's host. No setup_test_environment(): it would make every
    # template render copy its context for the client, which a server never does.
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def say(text: str) -> None:
    print(text, flush=True)


def grow_school(args):
    """Students, the billed term and its payments, the course and its registers."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession, Student
    from payments import ledger
    from payments.models import Payment, Term
    from payments.permissions import ensure_fees_office_group

    User = get_user_model()
    office, _ = User.objects.get_or_create(username="bench-office")
    office.groups.add(ensure_fees_office_group())
    lecturer, _ = User.objects.get_or_create(username="bench-lecturer")
    today = timezone.localdate()

    have = Student.objects.count()
    if have < args.students:
        say(f"Adding {args.students - have:,} students ({have:,} there)")
        Student.objects.bulk_create(
            (
                Student(
                    student_number=f"B{n:06d}",
                    first_name=f"First{n % 997}",
                    last_name=f"Last{(n * 7919) % 10007:05d}",
                    email=f"b{n}@school.example",
                )
                for n in range(have, args.students)
            ),
            batch_size=2000,
        )
    term = Term.objects.filter(name="Bench term").first()
    if term is None:
        term = Term.objects.create(
            name="Bench term",
            year=today.year,
            starts_on=today - timedelta(days=70),
            ends_on=today + timedelta(days=30),
            fee=Decimal("120.00"),
            due_on=today - timedelta(days=7),
        )
    ledger.activate_term(term=term)
    started = time.perf_counter()
    billed = ledger.bill_term(term=term)
    if billed:
        say(f"Billed {billed:,} students in {time.perf_counter() - started:.1f} s")

    # A third pay: in full, in part or too much; every twentieth has a payment plan.
    paying = list(
        Student.objects.order_by("pk")
        .exclude(payments__term=term)
        .values_list("pk", flat=True)[: args.students]
    )
    paying = [pk for pk in paying if pk % 3 == 0]
    if paying:
        say(f"Recording {len(paying):,} payments through the ledger")
        started = time.perf_counter()
        amounts = ["120.00", "80.00", "150.00", "60.00", "119.99"]
        students = Student.objects.in_bulk(paying)
        for i, pk in enumerate(paying):
            ledger.record_payment(
                student=students[pk],
                term=term,
                amount=amounts[i % len(amounts)],
                method="bank_transfer",
                by=office,
                received_at=timezone.now() - timedelta(days=(i * 13) % 70, hours=i % 9),
            )
            if i % 20 == 0:
                ledger.extend_due_date(
                    student=students[pk],
                    term=term,
                    due_on=today + timedelta(days=14),
                    reason="Payment plan",
                    by=office,
                )
            if i and i % 1000 == 0:
                say(f"  {i:,}/{len(paying):,}")
        say(f"  done in {time.perf_counter() - started:.1f} s")

    course, created = Course.objects.get_or_create(
        code="BENCH300", defaults={"title": "Benchmark course"}
    )
    course.lecturers.add(lecturer)
    if created or not course.enrollments.exists():
        first = Student.objects.order_by("pk")[: args.course_students]
        Enrollment.objects.bulk_create(Enrollment(course=course, student=s) for s in first)
    if not NetworkSession.objects.filter(course=course).exists():
        say(f"Writing {args.sessions} ended sessions of {args.course_students} students")
        sessions = []
        day = timezone.now() - timedelta(days=args.sessions * 7 // 5 + 2)
        while len(sessions) < args.sessions:
            day += timedelta(days=1)
            if day.weekday() >= 5:
                continue
            start = day.replace(hour=9, minute=0, second=0, microsecond=0)
            sessions.append(
                NetworkSession(
                    course=course,
                    date=timezone.localdate(start),
                    started_at=start,
                    ended_at=start + timedelta(hours=1),
                    is_active=False,
                    end_reason="ended",
                    join_code="000000",
                    code_rotated_at=start,
                )
            )
        sessions = NetworkSession.objects.bulk_create(sessions)
        statuses = ["present"] * 7 + ["late", "absent", "excused"]
        enrolled = list(course.enrollments.values_list("student_id", flat=True))
        AttendanceRecord.objects.bulk_create(
            (
                AttendanceRecord(
                    session=s,
                    student_id=pk,
                    status=statuses[(i * 31 + j * 17) % len(statuses)],
                    created_at=s.started_at,
                    updated_at=s.started_at,
                )
                for i, s in enumerate(sessions)
                for j, pk in enumerate(enrolled)
            ),
            batch_size=5000,
        )
    from reports.models import Standing
    from reports.standings import rebuild_course

    # A stricter threshold than the school's, so the at-risk lists have rows to read.
    Course.objects.filter(pk=course.pk).update(warn_below_percent=90)
    course.refresh_from_db()
    if not Standing.objects.filter(course=course).exists():
        say(f"Filling {course.code}'s standings from its registers")
        rebuild_course(course=course)
    if not lecturer.email:
        lecturer.email = "bench-lecturer@school.example"
        lecturer.save(update_fields=["email"])
    grow_arrivals(course)
    counts = {
        "students": Student.objects.count(),
        "payments": Payment.objects.filter(term=term).count(),
        "records": AttendanceRecord.objects.filter(session__course=course).count(),
    }
    return office, lecturer, course, counts


def warning_course(args, lecturer, course):
    """BENCHWARN: the big course's students, four sessions absent each: the fifth
    register, all absent again, takes every one of them below the threshold."""
    from django.utils import timezone

    from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession
    from reports.standings import rebuild_course

    warn, created = Course.objects.get_or_create(
        code="BENCHWARN", defaults={"title": "Benchmark warnings"}
    )
    warn.lecturers.add(lecturer)
    if created or not warn.enrollments.exists():
        Enrollment.objects.bulk_create(
            Enrollment(course=warn, student_id=pk)
            for pk in course.enrollments.values_list("student_id", flat=True)
        )
    if not NetworkSession.objects.filter(course=warn).exists():
        start = timezone.now() - timedelta(days=10)
        sessions = NetworkSession.objects.bulk_create(
            NetworkSession(
                course=warn,
                date=timezone.localdate(start + timedelta(days=d)),
                started_at=start + timedelta(days=d),
                ended_at=start + timedelta(days=d, hours=1),
                is_active=False,
                end_reason="ended",
                join_code="000000",
                code_rotated_at=start,
            )
            for d in range(4)
        )
        enrolled = list(warn.enrollments.values_list("student_id", flat=True))
        AttendanceRecord.objects.bulk_create(
            AttendanceRecord(
                session=s,
                student_id=pk,
                status="absent",
                created_at=s.started_at,
                updated_at=s.started_at,
            )
            for s in sessions
            for pk in enrolled
        )
        rebuild_course(course=warn)
    return warn


def measure_register_write(course, requests: int) -> dict:
    """end_session of a class of `course` whose every student falls below: the register,
    the standings, a warning and a mail each, the lecturers' digest. Rolled back each time."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from attendance.sessions import end_session, start_session
    from reports.models import AttendanceWarning

    class Rollback(Exception):
        pass

    def once(capture: bool = False):
        try:
            with transaction.atomic():
                session, _ = start_session(course=course, by=None)
                started, cpu = time.perf_counter(), time.process_time()
                with CaptureQueriesContext(connection) as ctx:
                    end_session(session=session)
                took = time.perf_counter() - started, time.process_time() - cpu
                warned = AttendanceWarning.objects.filter(course=course).count()
                raise Rollback(took, len(ctx.captured_queries), warned)
        except Rollback as done:
            return done.args

    (_, _), queries, warned = once()
    for _ in range(2):
        once()
    wholes, cpus = [], []
    for _ in range(requests):
        (whole, cpu), _, _ = once()
        wholes.append(whole * 1000)
        cpus.append(cpu * 1000)
    return {
        "queries": queries,
        "p50": statistics.median(wholes),
        "p95": percentile(wholes, 0.95),
        "cpu": statistics.median(cpus),
        "warned": warned,
    }


def grow_arrivals(course) -> None:
    """First joins on the records of those who came (from 3 minutes early to 40 late), and
    every student's phone in the latest session, joining and leaving over the hour:
    what the analytics page and the session timeline read."""
    from django.db import connection
    from django.utils import timezone

    from attendance.models import AttendanceRecord, ConnectedDevice, Device, NetworkSession

    records = AttendanceRecord.objects.filter(
        session__course=course, status__in=["present", "late"]
    )
    if records.filter(first_seen__isnull=True).exists():
        say("Writing first joins on the course's records")
        table = AttendanceRecord._meta.db_table
        sessions = NetworkSession._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS r SET first_seen = s.started_at"
                " + (((r.student_id * 7 + r.session_id * 3) %% 43) - 3) * interval '1 minute',"
                " last_seen = s.ended_at"
                f" FROM {sessions} AS s WHERE r.session_id = s.id AND s.course_id = %s"
                " AND r.status IN ('present', 'late') AND r.first_seen IS NULL",
                [course.pk],
            )
    latest = NetworkSession.objects.filter(course=course).order_by("-started_at").first()
    if latest is None or ConnectedDevice.objects.filter(session=latest).exists():
        return
    say("Connecting the course's phones to its latest session")
    students = list(course.enrollments.values_list("student_id", flat=True))
    have = set(Device.objects.filter(student_id__in=students).values_list("student_id", flat=True))
    Device.objects.bulk_create(
        Device(student_id=pk, token_hash="0" * 64, name="bench phone", slot=1)
        for pk in students
        if pk not in have
    )
    start = latest.started_at
    ConnectedDevice.objects.bulk_create(
        ConnectedDevice(
            session=latest,
            device=device,
            connected_at=start + timedelta(seconds=(i * 37) % 1800 - 120),
            last_seen_at=latest.ended_at or timezone.now(),
            disconnected_at=(
                start + timedelta(minutes=30 + (i * 13) % 30) if i % 4 == 0 else latest.ended_at
            ),
            is_connected=False,
        )
        for i, device in enumerate(
            Device.objects.filter(student_id__in=students, is_active=True).order_by("pk")
        )
    )


def grow_student_logins(course, sessions: int):
    """Two students of `course` with logins for /me/: one with that course only, one
    with four more courses of `sessions` ended sessions each; both with a phone."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from attendance.devices import register_device
    from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession

    User = get_user_model()
    enrolled = list(course.enrollments.order_by("student_id").select_related("student")[:2])
    logins = []
    for n_courses, enrollment in zip((1, 5), enrolled, strict=True):
        student = enrollment.student
        user, _ = User.objects.get_or_create(username=f"bench-student-{n_courses}")
        if student.user_id != user.pk:
            student.user = user
            student.save(update_fields=["user"])
        if not student.devices.filter(is_active=True).exists():
            register_device(student=student, name="Bench phone")
        for k in range(1, n_courses):
            extra, created = Course.objects.get_or_create(
                code=f"BENCHX{k}", defaults={"title": f"Extra course {k}"}
            )
            Enrollment.objects.get_or_create(course=extra, student=student)
            if created:
                start = timezone.now() - timedelta(days=sessions + 1, hours=k)
                made = NetworkSession.objects.bulk_create(
                    NetworkSession(
                        course=extra,
                        date=timezone.localdate(start + timedelta(days=i)),
                        started_at=start + timedelta(days=i),
                        ended_at=start + timedelta(days=i, hours=1),
                        is_active=False,
                        end_reason="ended",
                        join_code="000000",
                        code_rotated_at=start,
                    )
                    for i in range(sessions)
                )
                AttendanceRecord.objects.bulk_create(
                    AttendanceRecord(
                        session=s,
                        student=student,
                        status=("present", "late", "absent", "excused")[i % 4],
                        created_at=s.started_at,
                        updated_at=s.started_at,
                    )
                    for i, s in enumerate(made)
                )
        logins.append((n_courses, user))
    return logins


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure(client, url: str, requests: int) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def fetch():
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        first = None
        if response.streaming:
            size = 0
            for chunk in response.streaming_content:
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
        else:
            size = len(response.content)
        return time.perf_counter() - started, first, size, time.process_time() - cpu

    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        fetch()
    queries = len(ctx.captured_queries)
    for _ in range(3):
        fetch()
    wholes, firsts, cpus, size = [], [], [], 0
    for _ in range(requests):
        whole, first, size, cpu = fetch()
        wholes.append(whole * 1000)
        cpus.append(cpu * 1000)
        if first is not None:
            firsts.append(first * 1000)
    result = {
        "queries": queries,
        "p50": statistics.median(wholes),
        "p95": percentile(wholes, 0.95),
        "cpu": statistics.median(cpus),
        "size": size,
    }
    if firsts:
        result["first_p50"] = statistics.median(firsts)
        result["first_p95"] = percentile(firsts, 0.95)
    return result


def main() -> None:
    args = parse_args()
    url = bench_database(args.database_url, args.database_name)
    say(f"Database {args.database_name} on {urlparse(url).hostname}")
    setup_django(url)
    from django.db import connection
    from django.test import Client

    office, lecturer, course, counts = grow_school(args)
    student_logins = grow_student_logins(course, args.sessions)
    say(
        f"School: {counts['students']:,} students, {counts['payments']:,} payments this term; "
        f"{course.code}: {course.enrollments.count()} students, {counts['records']:,} records"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]

    # As the server does after loading (config/asgi.py): what lives as long as
    # the process is kept out of the garbage collector's full collections.
    gc.collect()
    gc.freeze()
    office_client, lecturer_client = Client(), Client()
    office_client.force_login(office)
    lecturer_client.force_login(lecturer)
    register = f"/courses/{course.pk}/register/"
    timeline_id = course.sessions.order_by("-started_at").values_list("pk", flat=True).first()
    cases = [
        ("/students/", office_client, "/students/"),
        ("/students/?status=OVERDUE", office_client, "/students/?status=OVERDUE"),
        ("/students/?sort=-balance", office_client, "/students/?sort=-balance"),
        ("/students/?q=last0042", office_client, "/students/?q=last0042"),
        ("/api/students/?status=OVERDUE", office_client, "/api/students/?status=OVERDUE"),
        ("/students/export.csv", office_client, "/students/export.csv"),
        ("/students/export.xlsx", office_client, "/students/export.xlsx"),
        (f"{course.code} register", lecturer_client, register),
        (f"{course.code} register.csv", lecturer_client, f"/courses/{course.pk}/register.csv"),
        (
            "/students/<id>/attendance/",
            office_client,
            f"/students/{course.enrollments.order_by('student_id').first().student_id}/attendance/",
        ),
        (f"{course.code} at-risk", lecturer_client, f"/courses/{course.pk}/at-risk/"),
        ("/at-risk/", office_client, "/at-risk/"),
        ("/at-risk.csv", office_client, "/at-risk.csv"),
        (f"{course.code} analytics", lecturer_client, f"/courses/{course.pk}/analytics/"),
        (
            f"{course.code} analytics, all sessions",
            lecturer_client,
            f"/courses/{course.pk}/analytics/?range=all",
        ),
        (f"{course.code} session timeline", lecturer_client, f"/sessions/{timeline_id}/timeline/"),
    ]
    # The student's own page, with one course and with five: the same queries.
    for n_courses, user in student_logins:
        student_client = Client()
        student_client.force_login(user)
        plural = "s" if n_courses > 1 else ""
        cases.append((f"/me/ ({n_courses} course{plural})", student_client, "/me/"))
    load = os.getloadavg()
    say(
        f"\n{platform.node()}: {os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}; PostgreSQL {pg_version}; {args.requests} requests each, "
        f"{datetime.now():%Y-%m-%d %H:%M}\n"
    )
    say("| page | queries | p50 | p95 | first byte p50 / p95 | size | Django CPU p50 |")
    say("|---|---|---|---|---|---|---|")
    for label, client, path in cases:
        r = measure(client, path, args.requests)
        first = f"{r['first_p50']:.1f} / {r['first_p95']:.1f} ms" if "first_p50" in r else ""
        say(
            f"| `{label}` | {r['queries']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {first} "
            f"| {r['size'] / 1024:.0f} KiB | {r['cpu']:.1f} ms |"
        )
    warn = warning_course(args, lecturer, course)
    r = measure_register_write(warn, min(args.requests, 10))
    say(
        f"| end_session, {warn.enrollments.count()} students, {r['warned']} warnings "
        f"(target ≤ 200 ms) | {r['queries']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | | "
        f"| {r['cpu']:.1f} ms |"
    )
    load = os.getloadavg()
    say(f"\nLoad after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
