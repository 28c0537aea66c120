"""The periodic sweep: supersede duplicates, expire old sessions, drop silent devices,
then the other apps' jobs (settings.SWEEP_JOBS: the outbox's mail, for one).

Production runs it as its own process (`manage.py cleanup_sessions --loop`);
the embedded demo runs it in a daemon thread of the server process, started
from config/asgi.py, so nobody has to remember a command.

Between sweeps the loop also rotates due join codes once a second. A server
process does that too while a lecturer's socket is open in it
(realtime/ticker.py); the loop covers the time when none is, such as a
dashboard that fell back to polling or a program reading the API. The
rotation is a conditional UPDATE, so both doing it still rotates a code once.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from attendance import metrics
from attendance.codes import rotate_due_codes
from attendance.sessions import (
    CleanupResult,
    EndResult,
    cleanup_expired_sessions,
    supersede_duplicate_sessions,
)

logger = logging.getLogger("rollcall.sweeper")


@dataclass(frozen=True)
class SweepResult:
    superseded: list[EndResult]
    cleanup: CleanupResult
    # What each of settings.SWEEP_JOBS did, by name: counts of its work.
    jobs: dict[str, int] = field(default_factory=dict)

    @property
    def sessions_ended(self) -> int:
        return len(self.superseded) + len(self.cleanup.ended)

    @property
    def records_written(self) -> int:
        return sum(r.records for r in self.superseded) + self.cleanup.records_written

    @property
    def had_work(self) -> bool:
        return bool(
            self.sessions_ended or self.cleanup.devices_disconnected or any(self.jobs.values())
        )

    def counts(self) -> dict[str, int]:
        return {
            "superseded": len(self.superseded),
            "expired": len(self.cleanup.ended),
            "records": self.records_written,
            "devices_disconnected": self.cleanup.devices_disconnected,
            **self.jobs,
        }


def run_jobs(*, now: datetime) -> dict[str, int]:
    """Run settings.SWEEP_JOBS in order; one failing does not stop the others."""
    done: dict[str, int] = {}
    for path in settings.SWEEP_JOBS:
        try:
            counts = import_string(path)(now=now) or {}
        except Exception:
            logger.exception("Sweep job %s failed; it runs again at the next sweep", path)
            continue
        for key, value in counts.items():
            done[key] = done.get(key, 0) + value
    return done


def sweep_once(*, hours: int | None = None, now: datetime | None = None) -> SweepResult:
    """One sweep; safe to run from several processes at once (end_session locks the row,
    and every job claims its work)."""
    metrics.sweep_began()
    close_old_connections()
    # In UTC: `--now` is read in the school's zone, and arithmetic on a zone-aware
    # moment counts wall-clock time (four hours before 03:10 on a spring-forward
    # morning would be three real hours), and two moments of one zone compare by
    # their wall-clock times, fold or no fold.
    now = (now or timezone.now()).astimezone(UTC)
    try:
        superseded = supersede_duplicate_sessions(now=now)
        cleanup = cleanup_expired_sessions(hours=hours, now=now)
        result = SweepResult(superseded=superseded, cleanup=cleanup, jobs=run_jobs(now=now))
    except Exception:
        metrics.sweep_failed()
        raise
    finally:
        close_old_connections()
    metrics.sweep_succeeded(expired=len(cleanup.ended), superseded=len(superseded))
    return result


ROTATE_EVERY_SECONDS = 1.0


def rotate_codes() -> int:
    """Rotate every due join code; return how many this call rotated."""
    close_old_connections()
    try:
        return rotate_due_codes()
    finally:
        close_old_connections()


def rotate_codes_until(
    deadline: float,
    *,
    stopped: Callable[[], bool],
    wait: Callable[[float], object],
    on_error: Callable[[Exception], None],
) -> None:
    """Rotate due codes once a second until `deadline` (time.monotonic()) or `stopped()`.

    A failure is reported once until a rotation succeeds again (at most once
    per sweep interval), not every second while the database is away.
    """
    failing = False
    while not stopped():
        try:
            rotate_codes()
            failing = False
        except Exception as exc:
            # A database restart must not stop the loop; the next second tries again.
            if not failing:
                on_error(exc)
            failing = True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        wait(min(remaining, ROTATE_EVERY_SECONDS))


def _log_rotation_failure(exc: Exception) -> None:
    logger.error("Join-code rotation failed; trying again", exc_info=exc)


def run_until(stop: threading.Event, *, interval: float) -> int:
    """Sweep every `interval` seconds until `stop` is set; return how many sweeps ran."""
    sweeps = 0
    while not stop.is_set():
        try:
            result = sweep_once()
            if result.had_work:
                logger.info("Sweep: %s", result.counts())
        except Exception:
            logger.exception("Sweep failed; trying again in %s s", interval)
        sweeps += 1
        rotate_codes_until(
            time.monotonic() + interval,
            stopped=stop.is_set,
            wait=stop.wait,
            on_error=_log_rotation_failure,
        )
    return sweeps


_thread: threading.Thread | None = None


def start_in_process_sweeper_if_enabled() -> threading.Thread | None:
    global _thread
    interval = settings.ATTENDANCE_SWEEP_SECONDS
    if not settings.ATTENDANCE_IN_PROCESS_SWEEP or interval <= 0 or _thread is not None:
        return None
    _thread = threading.Thread(
        target=run_until,
        args=(threading.Event(),),
        kwargs={"interval": interval},
        name="rollcall-sweeper",
        daemon=True,
    )
    _thread.start()
    logger.info("In-process sweeper running every %s s", interval)
    return _thread
