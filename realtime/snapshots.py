"""What a lecturer socket sends first, read from the database: the truth, in full.

The channel layer is at-most-once, so a socket that (re)connects starts from
a snapshot instead of trusting that it saw every event. The HTML versions
are rendered from the same partial templates as the dashboard page.
"""

from django.template.loader import render_to_string

from attendance import codes
from attendance.models import Course
from attendance.selectors import CourseCard, course_cards
from realtime.audience import Audience


def _courses(audience: Audience):
    if audience.course_ids is None:
        return Course.objects.all()
    return Course.objects.filter(pk__in=audience.course_ids)


def _session_entry(card: CourseCard) -> dict:
    session = card.session
    expiry = codes.expires_at(session)
    return {
        "course": card.course.pk,
        "course_code": card.course.code,
        "session": session.pk,
        "started_at": session.started_at.isoformat(),
        **card.counts.as_dict(),
        "code": session.join_code,
        "expires_at": expiry.isoformat() if expiry else None,
    }


def json_snapshot(*, audience: Audience) -> dict:
    """Every running session the audience may see, with counts and join code."""
    cards = course_cards(courses=_courses(audience))
    return {
        "type": "snapshot",
        "sessions": [_session_entry(card) for card in cards if card.session is not None],
    }


def html_cards(*, audience: Audience, base_url: str, csrf_token: str = "") -> str:
    cards = course_cards(courses=_courses(audience))
    return render_to_string(
        "attendance/_cards.html",
        {"cards": cards, "base_url": base_url, "csrf_token": csrf_token, "oob": True},
    )


def html_card(*, course_id: int, base_url: str, csrf_token: str = "") -> str:
    cards = course_cards(courses=Course.objects.filter(pk=course_id))
    if not cards:
        return ""
    return render_to_string(
        "attendance/_course_card.html",
        {"card": cards[0], "base_url": base_url, "csrf_token": csrf_token, "oob": True},
    )


def html_counts(*, event: dict) -> str:
    """The counts block from a session.counts event: no database read at all."""
    return render_to_string(
        "attendance/_session_counts.html",
        {"session_id": event["session"], "counts": event, "oob": True},
    )


def html_live_indicator(*, live: bool) -> str:
    """The page's live indicator: live, or reconnecting while events may be missed."""
    return render_to_string(
        "realtime/_live_indicator.html", {"state": "live" if live else "reconnecting"}
    )
