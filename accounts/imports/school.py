"""Courses (with their lecturers) and enrollments.

A course is keyed by code; its `lecturers` cell lists usernames separated by
spaces, all of whom must be in the Lecturers group, and becomes exactly the
course's lecturers. An enrollment is a (student number, course code) pair.
"""

from collections import defaultdict
from collections.abc import Iterator

from django.contrib.auth import get_user_model

from accounts.imports.reading import Table
from accounts.imports.rows import (
    CHANGED,
    NEW,
    UNCHANGED,
    Plan,
    Progress,
    RowChecker,
    RowOutcome,
    chunked,
    diff,
    report_progress,
)
from accounts.roles import LECTURERS_GROUP
from attendance.models import Course, Enrollment, Student

COURSE_COLUMNS = ("code", "name", "lecturers")
ENROLLMENT_COLUMNS = ("student_number", "course_code")
Teaching = Course.lecturers.through


def plan_courses(table: Table, *, progress: Progress | None = None) -> Plan:
    names = {n for _, values in table.rows for n in values["lecturers"].split()}
    lecturer_ids: dict[str, int] = {}
    for chunk in chunked(names):
        lecturer_ids.update(
            get_user_model()
            .objects.filter(username__in=chunk, groups__name=LECTURERS_GROUP)
            .values_list("username", "pk")
        )
    codes = {values["code"] for _, values in table.rows if values["code"]}
    existing: dict[str, tuple[int, str]] = {}
    teaching: dict[int, set[str]] = defaultdict(set)
    for chunk in chunked(codes):
        existing.update(
            (code, (pk, title))
            for code, pk, title in Course.objects.filter(code__in=chunk).values_list(
                "code", "pk", "title"
            )
        )
    for chunk in chunked([pk for pk, _ in existing.values()]):
        for course_id, username in Teaching.objects.filter(course_id__in=chunk).values_list(
            "course_id", "user__username"
        ):
            teaching[course_id].add(username)

    plan = Plan(work={"create": [], "update": [], "teach": {}})
    seen: dict[str, int] = {}
    code_length = Course._meta.get_field("code").max_length
    title_length = Course._meta.get_field("title").max_length
    total = len(table.rows)
    for done, (row, values) in enumerate(table.rows, start=1):
        check = RowChecker(row, values)
        code = check.text("code", max_length=code_length)
        title = check.text("name", max_length=title_length)
        wanted = sorted(set(values["lecturers"].split()))
        for username in wanted:
            if username not in lecturer_ids:
                check.error("lecturers", f"No lecturer has the username {username!r}.")
        if code:
            check.once("code", code, seen)
        report_progress(progress, done, total)
        if check.errors:
            plan.fail(row, code, check.errors)
            continue
        plan.work["teach"][code] = {lecturer_ids[u] for u in wanted}
        if code not in existing:
            plan.work["create"].append((code, title))
            plan.add(RowOutcome(row, NEW, code))
            continue
        pk, current_title = existing[code]
        changes = diff(
            {"name": current_title, "lecturers": " ".join(sorted(teaching[pk]))},
            {"name": title, "lecturers": " ".join(wanted)},
        )
        if "name" in changes:
            plan.work["update"].append((pk, title))
        plan.add(RowOutcome(row, CHANGED if changes else UNCHANGED, code, changes))
    return plan


def apply_courses(plan: Plan, *, by, base_url: str) -> dict[str, int]:
    # Rows in key order, whatever the file's: two imports of the same courses
    # then wait for each other instead of deadlocking.
    Course.objects.bulk_create(
        [Course(code=code, title=title) for code, title in sorted(plan.work["create"])],
        batch_size=1000,
    )
    Course.objects.bulk_update(
        [Course(pk=pk, title=title) for pk, title in sorted(plan.work["update"])], ["title"], 1000
    )
    teach = plan.work["teach"]
    ids = dict(Course.objects.filter(code__in=list(teach)).values_list("code", "pk"))
    wanted = {(ids[code], user_id) for code, users in teach.items() for user_id in users}
    current = set(
        Teaching.objects.filter(course_id__in=list(ids.values())).values_list(
            "course_id", "user_id"
        )
    )
    for course_id, user_id in sorted(current - wanted):
        Teaching.objects.filter(course_id=course_id, user_id=user_id).delete()
    Teaching.objects.bulk_create(
        [Teaching(course_id=c, user_id=u) for c, u in sorted(wanted - current)], batch_size=1000
    )
    return {}


def export_courses() -> Iterator[tuple]:
    teaching: dict[int, list[str]] = defaultdict(list)
    for course_id, username in Teaching.objects.values_list("course_id", "user__username"):
        teaching[course_id].append(username)
    for pk, code, title in Course.objects.order_by("code").values_list("pk", "code", "title"):
        yield code, title, " ".join(sorted(teaching[pk]))


def plan_enrollments(table: Table, *, progress: Progress | None = None) -> Plan:
    numbers = {values["student_number"] for _, values in table.rows if values["student_number"]}
    student_ids: dict[str, int] = {}
    for chunk in chunked(numbers):
        student_ids.update(
            Student.objects.filter(student_number__in=chunk).values_list("student_number", "pk")
        )
    codes = {values["course_code"] for _, values in table.rows if values["course_code"]}
    course_ids: dict[str, int] = {}
    for chunk in chunked(codes):
        course_ids.update(Course.objects.filter(code__in=chunk).values_list("code", "pk"))
    existing: set[tuple[int, int]] = set()
    for chunk in chunked(course_ids.values(), 50):
        existing.update(
            Enrollment.objects.filter(course_id__in=chunk).values_list("student_id", "course_id")
        )

    plan = Plan(work={"create": []})
    seen: dict[tuple[str, str], int] = {}
    total = len(table.rows)
    for done, (row, values) in enumerate(table.rows, start=1):
        check = RowChecker(row, values)
        number = check.text("student_number", max_length=20)
        code = check.text("course_code", max_length=20)
        if number and len(number) <= 20 and number not in student_ids:
            check.error("student_number", f"No student has the number {number!r}.")
        if code and len(code) <= 20 and code not in course_ids:
            check.error("course_code", f"No course has the code {code!r}.")
        key = f"{number} {code}"
        if number and code:
            # As a pair: "A B" in "C" is not "A" in "B C".
            check.once("student_number", (number, code), seen, label=f"{number!r} in {code!r}")
        report_progress(progress, done, total)
        if check.errors:
            plan.fail(row, key, check.errors)
            continue
        pair = (student_ids[number], course_ids[code])
        if pair in existing:
            plan.add(RowOutcome(row, UNCHANGED, key))
        else:
            plan.work["create"].append(pair)
            plan.add(RowOutcome(row, NEW, key))
    return plan


def apply_enrollments(plan: Plan, *, by, base_url: str) -> dict[str, int]:
    # In (student, course) order, whatever the file's: two imports of the same
    # new pairs then wait for each other at the first one instead of deadlocking.
    Enrollment.objects.bulk_create(
        [Enrollment(student_id=s, course_id=c) for s, c in sorted(plan.work["create"])],
        batch_size=2000,
    )
    return {}


def export_enrollments() -> Iterator[tuple]:
    yield from (
        Enrollment.objects.order_by("course__code", "student__student_number")
        .values_list("student__student_number", "course__code")
        .iterator(chunk_size=5000)
    )
