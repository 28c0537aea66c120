"""Device presence in class sessions: join, heartbeat, leave, and the sweep.

Presence must expire by itself: a socket's disconnect() is not called when a
server process is killed, so the sweep marks devices silent for
PRESENCE_SILENT_INTERVALS heartbeat intervals as disconnected.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from attendance.models import ConnectedDevice

PRESENCE_SILENT_INTERVALS = 3


def silent_cutoff(now: datetime) -> datetime:
    return now - timedelta(
        seconds=settings.ATTENDANCE_HEARTBEAT_SECONDS * PRESENCE_SILENT_INTERVALS
    )


def silent_devices(*, now: datetime) -> QuerySet[ConnectedDevice]:
    return ConnectedDevice.objects.filter(is_connected=True, last_seen_at__lt=silent_cutoff(now))


def sweep_silent_devices(*, now: datetime) -> int:
    """Mark devices silent for 3 heartbeat intervals as disconnected; return how many."""
    return silent_devices(now=now).update(is_connected=False, disconnected_at=now)
