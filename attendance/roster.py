"""The live name list of a running session: who has checked in, who has not yet.

Its event, session.roster, carries students' names, so it goes only to the
course's lecturers' groups (and staff's, who see every register), never to
devices; the events socket does not relay it (realtime/events.py lists what
it sends), and the dashboard renders it from templates/attendance/_session_roster.html.
Like the counts it is coalesced per session, at most ROSTERS_PER_SECOND a
second per process, read from the database when it is sent.
"""

import functools

from attendance.counters import try_count_up
from attendance.models import NetworkSession
from attendance.selectors import session_rosters
from realtime import broadcast


def roster_event(*, session_id: int) -> dict:
    """The session.roster event, read from the database now (three queries)."""
    # Taken before reading, as for the counts: a later version saw every earlier commit.
    # Without the cache (Redis restarting) the list goes out unversioned.
    version = try_count_up(f"roster-version:{int(session_id)}", timeout=86400)
    session = NetworkSession.objects.select_related("course").get(pk=session_id)
    return {
        "type": "session.roster",
        "course": session.course_id,
        "session": session.pk,
        **session_rosters([session])[session.pk],
        "version": version,
    }


def announce_roster(*, session_id: int, course_id: int) -> None:
    """After commit, the course's lecturers get the session's name list, coalesced."""
    broadcast.publish_roster(
        session_id=session_id,
        groups=broadcast.course_audience(course_id),
        read=functools.partial(roster_event, session_id=session_id),
    )
