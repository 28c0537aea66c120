"""Who may watch which courses on the lecturer sockets, as channel-layer groups.

A lecturer listens to their own courses' groups, staff to the one group every
course event also goes to; everyone else may watch nothing. The decision is
made once, at connect, from the database.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from attendance.models import Course
from realtime import broadcast


@dataclass(frozen=True)
class Audience:
    groups: tuple[str, ...]
    # None: every course (staff).
    course_ids: frozenset[int] | None

    def sees(self, course_id: int) -> bool:
        return self.course_ids is None or course_id in self.course_ids


def audience_for(user: AbstractBaseUser) -> Audience | None:
    """The groups `user` listens to, or None if they may see no course at all."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_staff:
        return Audience(groups=(broadcast.STAFF_GROUP,), course_ids=None)
    ids = frozenset(Course.objects.filter(lecturers=user).values_list("pk", flat=True))
    if not ids:
        return None
    return Audience(groups=tuple(broadcast.course_group(i) for i in sorted(ids)), course_ids=ids)
