"""End expired class sessions (keeping their registers), once or as the sweeper loop;
or run one whole sweep as if it were another time (--now), for demos and checks."""

import argparse
import signal
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string

from attendance.days import FIRST_DAY, LAST_DAY
from attendance.models import NetworkSession
from attendance.sessions import CleanupResult, cleanup_expired_sessions, end_all_active_sessions
from attendance.sweeper import rotate_codes_until, sweep_once
from realtime import broadcast

# A century: older than that is every session there is, and a larger number
# would overflow the date arithmetic.
MAX_HOURS = 100 * 366 * 24


def hours_argument(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of hours") from None
    if not 0 <= value <= MAX_HOURS:
        raise argparse.ArgumentTypeError(f"{raw!r}: hours must be from 0 to {MAX_HOURS}")
    return value


def interval_argument(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{raw!r}: the interval must be between 0 and 86400 s")
    return value


def port_argument(raw: str) -> int:
    # isascii: "²".isdigit() is true, and int() refuses it.
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (0 to 65535)")
    return int(raw)


def checked_sweep_jobs() -> None:
    """Every SWEEP_JOBS path imports, or the sweeper stops at start (a bad setting)."""
    for path in settings.SWEEP_JOBS:
        try:
            import_string(path)
        except ImportError as exc:
            message = f"SWEEP_JOBS: {path!r} does not import: {exc}"
            raise CommandError(message, returncode=2) from None


def iso_time_argument(raw: str) -> datetime:
    """An ISO 8601 time; without an offset it is the school's local time (TIME_ZONE)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not an ISO time such as 2026-03-02T09:00 or 2026-03-02T09:00+01:00"
        ) from None
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise argparse.ArgumentTypeError(
            f"{raw!r}: choose a time from the years {FIRST_DAY.year} to {LAST_DAY.year}"
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    # In UTC, so that ages and comparisons count real time across a clock change.
    return moment.astimezone(UTC)


def _age(session: NetworkSession, now: datetime) -> str:
    minutes = int((now - session.started_at).total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


class Command(BaseCommand):
    help = (
        "End active class sessions older than --hours (default ATTENDANCE_SESSION_MAX_HOURS), "
        "writing their registers. --force ends every active session; --loop keeps sweeping."
    )

    shutdown = False
    stopped_by = ""

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would end; change nothing."
        )
        parser.add_argument(
            "--hours",
            type=hours_argument,
            default=None,
            help="End sessions started more than this many hours ago.",
        )
        parser.add_argument(
            "--force", action="store_true", help="End every active session now (end of day)."
        )
        parser.add_argument(
            "--loop", action="store_true", help="Keep sweeping until SIGTERM or SIGINT."
        )
        parser.add_argument(
            "--now",
            type=iso_time_argument,
            default=None,
            metavar="ISO-TIME",
            help="Run one whole sweep (expired sessions, the timetable's classes, every job "
            "in SWEEP_JOBS) as if it were this time; school time unless an offset is given.",
        )
        parser.add_argument(
            "--interval",
            type=interval_argument,
            default=None,
            help="Seconds between sweeps with --loop (default ATTENDANCE_SWEEP_SECONDS or 60).",
        )
        parser.add_argument(
            "--metrics-port",
            type=port_argument,
            default=None,
            help="With --loop: serve Prometheus metrics on this port at /metrics.",
        )
        parser.add_argument(
            "--metrics-host",
            default="127.0.0.1",
            help="The address --metrics-port listens on (default 127.0.0.1; 0.0.0.0 for all).",
        )

    def handle(self, *args, dry_run, hours, force, loop, interval, now=None, **options):
        if loop and (force or dry_run):
            raise CommandError("--loop cannot be combined with --force or --dry-run.", returncode=2)
        if now is not None and (loop or force or dry_run):
            raise CommandError(
                "--now runs one sweep: it cannot be combined with --loop, --force or --dry-run.",
                returncode=2,
            )
        if interval is not None and not loop:
            raise CommandError("--interval only makes sense with --loop.", returncode=2)
        if hours is None:
            hours = settings.ATTENDANCE_SESSION_MAX_HOURS
        if options["metrics_port"] is not None and not loop:
            raise CommandError("--metrics-port only makes sense with --loop.", returncode=2)
        if loop:
            checked_sweep_jobs()
            if options["metrics_port"] is not None:
                self.serve_metrics(host=options["metrics_host"], port=options["metrics_port"])
            self.run_loop(hours=hours, interval=interval or settings.ATTENDANCE_SWEEP_SECONDS or 60)
            return
        try:
            if now is not None:
                self.report_sweep(sweep_once(hours=hours, now=now), now=now)
                return
            now = timezone.now()
            if force:
                result = end_all_active_sessions(now=now, dry_run=dry_run)
                what = "active sessions"
            else:
                result = cleanup_expired_sessions(hours=hours, now=now, dry_run=dry_run)
                what = f"sessions older than {hours} h"
            self.report(result, what=what, now=now)
        finally:
            # Lecturers' screens hear what this run changed (devices gone silent)
            # before the process, and the publishers' threads with it, are gone.
            broadcast.flush_publishers()

    # --- one run --------------------------------------------------------------------

    def report(self, result: CleanupResult, *, what: str, now: datetime) -> None:
        self.stdout.write(f"{len(result.sessions)} {what}.")
        for session in result.sessions:
            started = timezone.localtime(session.started_at).strftime("%H:%M")
            self.stdout.write(
                f"  {session.course.code:<10} {session.date}  started {started}  "
                f"age {_age(session, now)}  (session {session.pk})"
            )
        if result.dry_run:
            self.stdout.write(
                f"Dry run: would end {len(result.sessions)} session(s) and disconnect "
                f"{result.devices_disconnected} silent device(s). Nothing was changed."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Ended {len(result.ended)} session(s), wrote {result.records_written} "
                f"attendance record(s); disconnected {result.devices_disconnected} "
                "silent device(s)."
            )
        )

    def report_sweep(self, result, *, now: datetime) -> None:
        local = timezone.localtime(now, timezone.get_default_timezone())
        self.stdout.write(f"Swept as of {local:%Y-%m-%d %H:%M} ({local.tzname()}).")
        counts = {key: value for key, value in result.counts().items() if value}
        if not counts:
            self.stdout.write("Nothing to do.")
            return
        for key, value in counts.items():
            self.stdout.write(f"  {key.replace('_', ' ')}: {value}")

    # --- the sweeper loop ---------------------------------------------------------------

    def serve_metrics(self, *, host: str, port: int) -> None:
        try:
            server = import_string(settings.METRICS_EXPORTER)(host=host, port=port)
        except OSError as exc:
            raise CommandError(f"--metrics-port {port}: {exc.strerror}", returncode=2) from None
        self.stdout.write(f"Metrics on http://{host}:{server.server_port}/metrics")

    def on_signal(self, signum, frame) -> None:
        # Only set flags here: writing from a signal handler can re-enter a
        # buffered write that the loop was in the middle of.
        self.stopped_by = signal.Signals(signum).name
        self.shutdown = True

    def sleep(self, seconds: float) -> None:
        # Short naps so a signal stops the loop within a fraction of a second.
        deadline = time.monotonic() + seconds
        while not self.shutdown:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.2))

    def rotation_failed(self, exc: Exception) -> None:
        self.stderr.write(f"Join-code rotation failed: {exc.__class__.__name__}: {exc}")

    def run_loop(self, *, hours: int, interval: float) -> None:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        self.stdout.write(
            f"Sweeper started: every {interval:g} s, sessions older than {hours} h end."
        )
        self.stdout.flush()
        sweeps = ended = records = 0
        while not self.shutdown:
            try:
                result = sweep_once(hours=hours)
            except Exception as exc:
                # A database restart must not kill the sweeper; try again next time.
                self.stderr.write(f"Sweep failed: {exc.__class__.__name__}: {exc}")
            else:
                sweeps += 1
                ended += result.sessions_ended
                records += result.records_written
                if result.had_work:
                    counts = result.counts()
                    stamp = timezone.localtime().strftime("%H:%M:%S")
                    jobs = "".join(f", {k.replace('_', ' ')} {v}" for k, v in result.jobs.items())
                    self.stdout.write(
                        f"{stamp} ended {counts['expired']} expired and {counts['superseded']} "
                        f"superseded session(s), wrote {counts['records']} record(s), "
                        f"disconnected {counts['devices_disconnected']} silent device(s)"
                        f"{jobs}."
                    )
            self.stdout.flush()
            # Join codes rotate between sweeps, once a second.
            rotate_codes_until(
                time.monotonic() + interval,
                stopped=lambda: self.shutdown,
                wait=self.sleep,
                on_error=self.rotation_failed,
            )
        self.stdout.write(
            f"Received {self.stopped_by}. Sweeper stopped after {sweeps} sweep(s): "
            f"ended {ended} session(s), wrote {records} record(s)."
        )
        self.stdout.flush()
