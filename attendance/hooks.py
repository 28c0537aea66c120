"""Who hears that a register changed: the apps above attendance, named in settings.

Attendance is the lowest app and imports none above it; an app that keeps
figures derived from registers (the reports' standings) names a function in
`ATTENDANCE_REGISTER_HOOKS` instead. Each is called inside the writer's
transaction, so what it writes commits or rolls back with the register.
"""

from collections.abc import Callable, Iterable
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

RegisterHook = Callable[..., None]


@cache
def _load(path: str) -> RegisterHook:
    return import_string(path)


def register_hooks() -> list[RegisterHook]:
    """The functions named in ATTENDANCE_REGISTER_HOOKS, imported once each."""
    return [_load(path) for path in getattr(settings, "ATTENDANCE_REGISTER_HOOKS", [])]


def register_changed(*, course_id: int, student_ids: Iterable[int]) -> None:
    """Tell every hook that these students' records of `course_id` changed.

    Call it inside the transaction that changed them: a hook that fails rolls
    the register back with it, rather than leaving figures that disagree.
    """
    ids = sorted(set(student_ids))
    if not ids:
        return
    for hook in register_hooks():
        hook(course_id=course_id, student_ids=ids)
