"""The one door to the channel layer from synchronous code.

Every send is deferred with transaction.on_commit, so nothing is announced for
a change that rolls back. The caller (a service function) decides the
recipients by naming the groups; group names are built here from ids only.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("rollcall.realtime")

STAFF_GROUP = "courses-all"


def course_group(course_id: int) -> str:
    return f"course-{int(course_id)}"


def session_devices_group(session_id: int) -> str:
    return f"session-{int(session_id)}-devices"


def device_group(device_id: int) -> str:
    return f"device-{int(device_id)}"


def _send_now(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            # The database is the truth and clients re-read it on reconnect; a
            # lost push must never undo or fail the committed change.
            logger.exception("Could not publish %s to %s", message.get("type"), group)


def publish(groups: list[str], message: dict) -> None:
    """Send `message` to `groups` once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(groups, message))


def _course_audience(course_id: int) -> list[str]:
    return [course_group(course_id), STAFF_GROUP]


def session_started(*, session) -> None:
    publish(
        _course_audience(session.course_id),
        {
            "type": "session.started",
            "course": session.course_id,
            "session": session.pk,
            "started_at": session.started_at.isoformat(),
        },
    )


def session_counts_changed(*, session_id: int, course_id: int) -> None:
    publish(
        _course_audience(course_id),
        {"type": "session.counts", "course": course_id, "session": session_id},
    )


def session_ended(*, result, statuses: dict[int, str]) -> None:
    event = {
        "type": "session.ended",
        "course": result.course_id,
        "session": result.session_id,
        "ended_at": result.ended_at.isoformat(),
        "reason": result.reason,
        "present": result.present,
        "late": result.late,
        "absent": result.absent,
    }
    publish(_course_audience(result.course_id), event)
    publish(
        [session_devices_group(result.session_id)],
        {
            "type": "session.ended",
            "session": result.session_id,
            "statuses": {str(k): v for k, v in statuses.items()},
        },
    )


def device_revoked(*, device_id: int) -> None:
    publish([device_group(device_id)], {"type": "device.revoked"})
