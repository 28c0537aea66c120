"""What a course's lecturers may change about it: its late threshold."""

from attendance.models import Course

MAX_LATE_AFTER_MINUTES = 240


class InvalidCourseSetting(ValueError):
    """A setting the rules refuse; the message says why."""


def set_late_threshold(*, course: Course, minutes: int | None) -> Course:
    """A first join more than `minutes` after the start is late; None: the school's default.

    A timetabled class's own threshold, if it has one, still wins for its sessions.
    """
    if minutes is not None and not 0 <= minutes <= MAX_LATE_AFTER_MINUTES:
        raise InvalidCourseSetting(
            f"The late threshold is 0 to {MAX_LATE_AFTER_MINUTES} minutes, or blank for the "
            "school's default."
        )
    Course.objects.filter(pk=course.pk).update(late_after_minutes=minutes)
    course.late_after_minutes = minutes
    return course
