"""Bulk import benchmark: 10,000 students, 150 lecturers, 300 courses and 60,000
enrollments into PostgreSQL through `manage.py import_school`, dry run then for
real, then the same files again (every row unchanged).

Each import is its own process, as an office would run it; the bench prints its
wall time and peak RSS (from wait4). The 60,000 enrollments come in two files of
30,000, since one file holds at most IMPORT_MAX_ROWS (50,000) rows.

    .venv/bin/python bench/import_bench.py [--database-url URL] [--keep]

The database (BENCH_IMPORT_DATABASE_URL, default rollcall_import_bench) is the
bench's own: it is dropped and made again on every run.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 30.0

STUDENTS, LECTURERS, COURSES, PER_STUDENT = 10_000, 150, 300, 6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_IMPORT_DATABASE_URL", "postgres://root@127.0.0.1:5432/rollcall_import_bench"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"bench: a plain database name is needed, not {name!r}")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def write(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_files(where: Path) -> list[tuple[str, Path, int]]:
    students = [
        (f"S{i:06d}", f"First{i}", f"Last{i}", f"s{i}@school.example") for i in range(STUDENTS)
    ]
    lecturers = [
        (f"lect{i:03d}", f"Lec{i}", f"Turer{i}", f"l{i}@school.example") for i in range(LECTURERS)
    ]
    courses = [
        (f"C{i:04d}", f"Course {i}", f"lect{i % LECTURERS:03d} lect{(i + 1) % LECTURERS:03d}")
        for i in range(COURSES)
    ]
    # Each student takes 6 courses spread over the 300: 60,000 pairs, no repeats.
    pairs = [
        (number, f"C{(i * 7 + k * 50) % COURSES:04d}")
        for i, (number, *_rest) in enumerate(students)
        for k in range(PER_STUDENT)
    ]
    half = len(pairs) // 2
    return [
        (
            "students",
            write(
                where / "students.csv",
                ["student_number", "first_name", "last_name", "email"],
                students,
            ),
            len(students),
        ),
        (
            "lecturers",
            write(
                where / "lecturers.csv", ["username", "first_name", "last_name", "email"], lecturers
            ),
            len(lecturers),
        ),
        (
            "courses",
            write(where / "courses.csv", ["code", "name", "lecturers"], courses),
            len(courses),
        ),
        (
            "enrollments",
            write(where / "enrollments-1.csv", ["student_number", "course_code"], pairs[:half]),
            half,
        ),
        (
            "enrollments",
            write(where / "enrollments-2.csv", ["student_number", "course_code"], pairs[half:]),
            len(pairs) - half,
        ),
    ]


def run(env: dict, args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and the summary line of one command."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(args)} failed ({proc.returncode}):\n{out}")
    summary = next((line for line in out.splitlines() if " new, " in line), "")
    return elapsed, usage.ru_maxrss / 1024, summary


def main() -> None:
    args = parse_args()
    recreate_database(args.database_url)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}},
        "DATABASE_URL": args.database_url,
        "PYTHONUNBUFFERED": "1",
        "ATTENDANCE_IN_PROCESS_SWEEP": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    files = make_files(workdir)
    print(
        f"{STUDENTS:,} students, {LECTURERS} lecturers, {COURSES} courses, "
        f"{STUDENTS * PER_STUDENT:,} enrollments (two files); files in {workdir}"
    )
    print(f"{'pass':<10} {'kind':<12} {'rows':>7} {'seconds':>8} {'peak RSS':>9}  result")
    totals = {"dry run": 0.0, "import": 0.0, "again": 0.0}
    peak = 0.0

    def step(label: str, kind: str, path: Path, rows: int, extra: list[str]) -> None:
        nonlocal peak
        seconds, rss, summary = run(env, ["import_school", "--kind", kind, str(path), *extra])
        totals[label] += seconds
        peak = max(peak, rss)
        print(f"{label:<10} {kind:<12} {rows:>7,} {seconds:>8.2f} {rss:>7.0f} MB  {summary}")

    # Each file's dry run sees what its import will see (courses need their
    # lecturers, enrollments their students and courses), so it runs just before.
    for kind, path, rows in files:
        step("dry run", kind, path, rows, ["--dry-run"])
        step("import", kind, path, rows, [])
    for kind, path, rows in files:
        step("again", kind, path, rows, [])
    print()
    for label, seconds in totals.items():
        verdict = "ok" if seconds <= TARGET_SECONDS else "OVER"
        print(f"{label:<8} total {seconds:6.2f} s (target <= {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"peak RSS of any one import: {peak:.0f} MB")
    if not args.keep:
        for _kind, path, _rows in files:
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
