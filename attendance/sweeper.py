"""The periodic sweep: expire old sessions, supersede duplicates, drop silent devices.

Production runs it as its own process (`manage.py cleanup_sessions --loop`);
the embedded demo runs it in a daemon thread of the server process, started
from config/asgi.py, so nobody has to remember a command.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from attendance.sessions import refresh_active_sessions

logger = logging.getLogger("rollcall.sweeper")


def sweep_once() -> dict[str, int]:
    """One sweep; safe to run from several processes at once."""
    close_old_connections()
    try:
        return refresh_active_sessions()
    finally:
        close_old_connections()


def run_until(stop: threading.Event, *, interval: float) -> int:
    """Sweep every `interval` seconds until `stop` is set; return how many sweeps ran."""
    sweeps = 0
    while not stop.is_set():
        try:
            counts = sweep_once()
            if counts["expired"] or counts["superseded"]:
                logger.info("Sweep: %s", counts)
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
