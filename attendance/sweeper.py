"""The periodic sweep: supersede duplicates, expire old sessions, drop silent devices.

Production runs it as its own process (`manage.py cleanup_sessions --loop`);
the embedded demo runs it in a daemon thread of the server process, started
from config/asgi.py, so nobody has to remember a command.
"""

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

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

    @property
    def sessions_ended(self) -> int:
        return len(self.superseded) + len(self.cleanup.ended)

    @property
    def records_written(self) -> int:
        return sum(r.records for r in self.superseded) + self.cleanup.records_written

    @property
    def had_work(self) -> bool:
        return bool(self.sessions_ended or self.cleanup.devices_disconnected)

    def counts(self) -> dict[str, int]:
        return {
            "superseded": len(self.superseded),
            "expired": len(self.cleanup.ended),
            "records": self.records_written,
            "devices_disconnected": self.cleanup.devices_disconnected,
        }


def sweep_once(*, hours: int | None = None) -> SweepResult:
    """One sweep; safe to run from several processes at once (end_session locks the row)."""
    close_old_connections()
    try:
        superseded = supersede_duplicate_sessions()
        cleanup = cleanup_expired_sessions(hours=hours)
        return SweepResult(superseded=superseded, cleanup=cleanup)
    finally:
        close_old_connections()


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
        stop.wait(interval)
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
