"""The live name list of a running session: who has checked in, who has not yet.

Its event, session.roster, carries students' names, so it goes only to the
course's lecturers' groups (and staff's, who see every register), never to
devices; the events socket does not relay it (realtime/events.py lists what
it sends), and the dashboard renders it from templates/attendance/_session_roster.html.
Like the counts it is coalesced per session, at most ROSTERS_PER_SECOND a
second per process, read from the database when it is sent.
"""

import functools

from attendance.counters import try_count_up_many
from attendance.models import NetworkSession
from attendance.selectors import session_rosters
from realtime import broadcast


def roster_events(readings: list[dict]) -> list[dict | NetworkSession.DoesNotExist]:
    """session.roster for several sessions ({session_id} each), read now: two queries for
    all of them; a session deleted meanwhile gets DoesNotExist in its place."""
    # Taken before reading, as for the counts: a later version saw every earlier commit.
    # Without the cache (Redis restarting) a list goes out unversioned.
    ids = [int(r["session_id"]) for r in readings]
    versions = try_count_up_many([f"roster-version:{pk}" for pk in ids], timeout=86400)
    sessions = NetworkSession.objects.select_related("course").in_bulk(ids)
    rosters = session_rosters(list(sessions.values()))
    return [
        {
            "type": "session.roster",
            "course": sessions[pk].course_id,
            "session": pk,
            **rosters[pk],
            "version": version,
        }
        if pk in sessions
        else NetworkSession.DoesNotExist(f"No session {pk}.")
        for pk, version in zip(ids, versions, strict=True)
    ]


@broadcast.reads_many(roster_events)
def roster_event(*, session_id: int) -> dict:
    """The session.roster event, read from the database now (two queries)."""
    event = roster_events([{"session_id": session_id}])[0]
    if isinstance(event, Exception):
        raise event
    return event


def announce_roster(*, session_id: int, course_id: int) -> None:
    """After commit, the course's lecturers get the session's name list, coalesced."""
    broadcast.publish_roster(
        session_id=session_id,
        groups=broadcast.course_audience(course_id),
        read=functools.partial(roster_event, session_id=session_id),
    )
