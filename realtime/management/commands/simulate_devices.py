"""Connect simulated student phones to a running server, so the live dashboard shows something.

    manage.py simulate_devices --url ws://127.0.0.1:8000 --course MATH101 --count 30
    manage.py simulate_devices --code 123456 --count 5 --duration 60

Devices belong to the course's enrolled students; they are registered once
and their tokens kept in a state file (git-ignored) for the next run.
"""

import asyncio
import contextlib
import math
import re
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from attendance.models import Course, NetworkSession
from realtime.simulator import (
    SimulatorError,
    device_socket_url,
    percentile,
    prepare_devices,
    run_swarm,
    simulated_students,
)

DEFAULT_STATE = Path(settings.BASE_DIR) / ".simulate_devices.json"
MAX_COUNT = 5000
BAD_ARGUMENTS = 2


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_ARGUMENTS)


class Command(BaseCommand):
    help = "Connect N simulated student devices and keep them joined to a class session."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="ws://127.0.0.1:8000", help="server, ws://host:port")
        parser.add_argument("--code", help="the 6-digit join code on the lecturer's card")
        parser.add_argument(
            "--course", help="course code; without --code, join its active session's code"
        )
        parser.add_argument("--count", type=int, default=30, help="devices to connect (30)")
        parser.add_argument(
            "--heartbeat", type=float, help="seconds between pings (default: the server's)"
        )
        parser.add_argument(
            "--duration", type=float, help="leave after this many seconds (default: Ctrl-C)"
        )
        parser.add_argument(
            "--concurrency", type=int, default=20, help="connections opened at once (20)"
        )
        parser.add_argument(
            "--state", type=Path, default=DEFAULT_STATE, help="where device tokens are kept"
        )

    def handle(self, *args, **options):
        try:
            url = device_socket_url(options["url"])
        except SimulatorError as exc:
            raise _bad(str(exc)) from None
        code = options["code"]
        if code is not None and not re.fullmatch(r"[0-9]{6}", code):
            raise _bad(f"--code {code!r}: a join code is exactly 6 digits.")
        if code is None and not options["course"]:
            raise _bad("Give --code (from the lecturer's card) or --course (to look it up).")
        count = options["count"]
        if not 1 <= count <= MAX_COUNT:
            raise _bad(f"--count {count}: use 1 to {MAX_COUNT}.")
        for name in ("heartbeat", "duration"):
            # Written so that nan and inf fail too: every comparison with nan is false.
            if options[name] is not None and not 0 < options[name] < math.inf:
                raise _bad(f"--{name} must be more than 0 seconds.")
        if not 1 <= options["concurrency"] <= 1000:
            raise _bad("--concurrency: use 1 to 1000.")

        course, session = self._course_and_session(code, options["course"])
        join_code = code or session.join_code
        students = simulated_students(course=course)
        if count > len(students):
            raise _bad(
                f"--count {count}: {course.code} has only {len(students)} active enrolled "
                "students, one device each."
            )
        self._check_reachable(url)
        try:
            devices = prepare_devices(students=students, count=count, state_path=options["state"])
        except SimulatorError as exc:
            raise CommandError(str(exc)) from None

        async def code_source(refresh: bool) -> str | None:
            # Only a looked-up code may be re-read: an explicit wrong --code must stay wrong.
            if refresh and code is None and session is not None:
                return await sync_to_async(_current_code)(session.pk)
            return join_code

        target = f"{course.code} session #{session.pk}" if session else course.code
        self.stdout.write(f"Connecting {count} devices to {url} for {target}; Ctrl-C leaves.")
        started = time.monotonic()
        stats = asyncio.run(self._run(devices, url=url, code_source=code_source, options=options))
        self._summary(stats, elapsed=time.monotonic() - started)
        if stats.failed:
            errors = ", ".join(f"{k}={v}" for k, v in sorted(stats.errors.items()))
            raise CommandError(f"{stats.failed} of {stats.total} devices failed: {errors}")

    def _course_and_session(
        self, code: str | None, course_code: str | None
    ) -> tuple[Course, NetworkSession | None]:
        if course_code:
            course = Course.objects.filter(code__iexact=course_code).first()
            if course is None:
                raise _bad(f"--course {course_code!r}: no such course.")
            session = (
                NetworkSession.objects.filter(course=course, is_active=True)
                .order_by("-started_at")
                .first()
            )
            if session is None and code is None:
                raise CommandError(
                    f"{course.code} has no active session: start one on the dashboard, "
                    "or pass --code."
                )
            return course, session
        session = (
            NetworkSession.objects.select_related("course")
            .filter(Q(join_code=code) | Q(previous_join_code=code), is_active=True)
            .first()
        )
        if session is None:
            raise CommandError(
                f"invalid_code: no active session has join code {code}. Check the lecturer's "
                "card (codes rotate), or pass --course to choose the students."
            )
        return session.course, session

    def _check_reachable(self, url: str) -> None:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            with socket.create_connection((parts.hostname, port), timeout=3):
                pass
        except OSError as exc:
            raise CommandError(
                f"Cannot reach {parts.hostname}:{port} ({exc.strerror or exc}). "
                "Is the server running (make run)?"
            ) from None

    async def _run(self, devices, *, url, code_source, options):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread there are no signal handlers: the caller stops us.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        interactive = self.stdout.isatty()
        last = {"line": "", "at": 0.0}

        def report(stats) -> None:
            line = stats.progress()
            now = time.monotonic()
            if interactive:
                self.stdout.write(f"\r{line:<78}", ending="")
                self.stdout.flush()
            elif line != last["line"] and now - last["at"] >= 1:
                self.stdout.write(line)
                last.update(line=line, at=now)

        return await run_swarm(
            devices,
            url=url,
            code_source=code_source,
            concurrency=options["concurrency"],
            heartbeat=options["heartbeat"],
            duration=options["duration"],
            stop=stop,
            report=report,
        )

    def _summary(self, stats, *, elapsed: float) -> None:
        if self.stdout.isatty():
            self.stdout.write("")
        lines = [
            f"Summary: {len(stats.ever_joined)}/{stats.total} devices joined in {elapsed:.1f} s; "
            f"{stats.reconnects} reconnects.",
        ]
        if stats.join_seconds:
            lines.append(
                f"  join round trip p50 {percentile(stats.join_seconds, 50) * 1000:.0f} ms, "
                f"p99 {percentile(stats.join_seconds, 99) * 1000:.0f} ms"
            )
        if stats.ended:
            lines.append(
                "  session ended: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.ended.items()))
            )
        lines.append(
            "  errors: "
            + (", ".join(f"{k}={v}" for k, v in sorted(stats.errors.items())) or "none")
        )
        for line in lines:
            self.stdout.write(line)
        sys.stdout.flush()


def _current_code(session_id: int) -> str | None:
    return (
        NetworkSession.objects.filter(pk=session_id, is_active=True)
        .values_list("join_code", flat=True)
        .first()
    )
