"""Students and lecturers: each row a person with a login of their own.

Students are keyed by student number, and a new student's login is named by
it; lecturers by username, and they join the Lecturers group. New logins have
no usable password: an invitation (when there is an email) sets one.
"""

import re
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

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
from accounts.invitations import invite_users
from accounts.roles import LECTURERS_GROUP, lecturers_group
from attendance.models import Student

USERNAME = re.compile(r"^[\w.@+-]+\Z")
STUDENT_COLUMNS = ("student_number", "first_name", "last_name", "email")
LECTURER_COLUMNS = ("username", "first_name", "last_name", "email")


def _field_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# --- students ----------------------------------------------------------------------------


def plan_students(table: Table, *, progress: Progress | None = None) -> Plan:
    User = get_user_model()
    numbers = {values["student_number"] for _, values in table.rows if values["student_number"]}
    existing: dict[str, tuple] = {}
    for chunk in chunked(numbers):
        for row in Student.objects.filter(student_number__in=chunk).values_list(
            "student_number", "pk", "first_name", "last_name", "email", "user_id"
        ):
            existing[row[0]] = row
    taken: set[str] = set()
    for chunk in chunked(n for n in numbers if n not in existing):
        taken.update(User.objects.filter(username__in=chunk).values_list("username", flat=True))

    plan = Plan(work={"create": [], "update": []})
    seen: dict[str, int] = {}
    lengths = {f: _field_length(Student, f) for f in STUDENT_COLUMNS}
    total = len(table.rows)
    for done, (row, values) in enumerate(table.rows, start=1):
        check = RowChecker(row, values)
        number = check.text("student_number", max_length=lengths["student_number"])
        wanted = {
            "first_name": check.text("first_name", max_length=lengths["first_name"]),
            "last_name": check.text("last_name", max_length=lengths["last_name"]),
            "email": check.email("email", max_length=lengths["email"]),
        }
        if number:
            check.once("student_number", number, seen)
            if number not in existing:
                if not USERNAME.match(number):
                    check.error(
                        "student_number",
                        "A new student's login is named by the number: use only letters, "
                        "digits and @ . + - _.",
                    )
                elif number in taken:
                    check.error(
                        "student_number",
                        f"A login named {number!r} already belongs to someone else.",
                    )
        if check.errors:
            plan.fail(row, number, check.errors)
        elif number in existing:
            _, pk, first, last, email, user_id = existing[number]
            changes = diff({"first_name": first, "last_name": last, "email": email}, wanted)
            if changes:
                plan.work["update"].append((pk, user_id, wanted))
                plan.add(RowOutcome(row, CHANGED, number, changes))
            else:
                plan.add(RowOutcome(row, UNCHANGED, number))
        else:
            plan.work["create"].append((number, wanted))
            plan.add(RowOutcome(row, NEW, number))
        report_progress(progress, done, total)
    return plan


def apply_students(plan: Plan, *, by, base_url: str) -> dict[str, int]:
    User = get_user_model()
    # In key order, whatever the file's: two imports of the same new students
    # then wait for each other at the first one instead of deadlocking.
    create = sorted(plan.work["create"], key=lambda work: work[0])
    users = User.objects.bulk_create(
        [
            User(username=number, password=make_password(None), **wanted)
            for number, wanted in create
        ],
        batch_size=1000,
    )
    Student.objects.bulk_create(
        [
            Student(student_number=number, user=user, **wanted)
            for (number, wanted), user in zip(create, users, strict=True)
        ],
        batch_size=1000,
    )
    update = sorted(plan.work["update"], key=lambda work: work[0])
    fields = ["first_name", "last_name", "email"]
    Student.objects.bulk_update(
        [Student(pk=pk, **wanted) for pk, _, wanted in update], fields, batch_size=1000
    )
    # The student's own login follows their name and address (password resets go there).
    User.objects.bulk_update(
        sorted(
            (User(pk=user_id, **wanted) for _, user_id, wanted in update if user_id),
            key=lambda user: user.pk,
        ),
        fields,
        batch_size=1000,
    )
    sent = invite_users(users=users, by=by, base_url=base_url)
    return {"logins": len(users), "invited": len(sent)}


def export_students() -> Iterator[tuple]:
    yield from (
        Student.objects.order_by("student_number")
        .values_list(*STUDENT_COLUMNS)
        .iterator(chunk_size=2000)
    )


# --- lecturers ---------------------------------------------------------------------------


def plan_lecturers(table: Table, *, progress: Progress | None = None) -> Plan:
    User = get_user_model()
    usernames = {values["username"] for _, values in table.rows if values["username"]}
    existing: dict[str, tuple] = {}
    students: set[int] = set()
    lecturers: set[int] = set()
    for chunk in chunked(usernames):
        rows = list(
            User.objects.filter(username__in=chunk).values_list(
                "username", "pk", "first_name", "last_name", "email"
            )
        )
        existing.update((row[0], row) for row in rows)
        ids = [row[1] for row in rows]
        students.update(Student.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
        lecturers.update(
            User.objects.filter(pk__in=ids, groups__name=LECTURERS_GROUP).values_list(
                "pk", flat=True
            )
        )

    plan = Plan(work={"create": [], "update": [], "join": []})
    seen: dict[str, int] = {}
    lengths = {f: _field_length(User, f) for f in LECTURER_COLUMNS}
    total = len(table.rows)
    for done, (row, values) in enumerate(table.rows, start=1):
        check = RowChecker(row, values)
        username = check.text("username", max_length=lengths["username"])
        # A login's names may be blank (an admin-made account often has none).
        wanted = {
            "first_name": check.text(
                "first_name", max_length=lengths["first_name"], required=False
            ),
            "last_name": check.text("last_name", max_length=lengths["last_name"], required=False),
            "email": check.email("email", max_length=lengths["email"]),
        }
        if username:
            check.once("username", username, seen)
            if not USERNAME.match(username):
                check.error("username", "Use only letters, digits and @ . + - _.")
            elif username in existing and existing[username][1] in students:
                check.error("username", f"{username!r} is a student's login.")
        if check.errors:
            plan.fail(row, username, check.errors)
            report_progress(progress, done, total)
            continue
        if username not in existing:
            plan.work["create"].append((username, wanted))
            plan.add(RowOutcome(row, NEW, username))
            report_progress(progress, done, total)
            continue
        _, pk, first, last, email = existing[username]
        changes = diff({"first_name": first, "last_name": last, "email": email}, wanted)
        if changes:
            plan.work["update"].append((pk, wanted))
        if pk not in lecturers:
            plan.work["join"].append(pk)
            changes["role"] = ("", "Lecturer")
        plan.add(RowOutcome(row, CHANGED if changes else UNCHANGED, username, changes))
        report_progress(progress, done, total)
    return plan


def apply_lecturers(plan: Plan, *, by, base_url: str) -> dict[str, int]:
    User = get_user_model()
    # In key order, as apply_students: concurrent imports wait rather than deadlock.
    users = User.objects.bulk_create(
        [
            User(username=username, password=make_password(None), **wanted)
            for username, wanted in sorted(plan.work["create"], key=lambda work: work[0])
        ],
        batch_size=1000,
    )
    User.objects.bulk_update(
        [User(pk=pk, **wanted) for pk, wanted in sorted(plan.work["update"], key=lambda w: w[0])],
        ["first_name", "last_name", "email"],
        batch_size=1000,
    )
    # The group's rows too: Django's add() inserts them in a set's order.
    group = lecturers_group()
    membership = User.groups.through
    membership.objects.bulk_create(
        [
            membership(user_id=pk, group_id=group.pk)
            for pk in sorted({*(u.pk for u in users), *plan.work["join"]})
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    sent = invite_users(users=users, by=by, base_url=base_url)
    return {"logins": len(users), "invited": len(sent)}


def export_lecturers() -> Iterator[tuple]:
    yield from (
        get_user_model()
        .objects.filter(groups__name=LECTURERS_GROUP)
        .order_by("username")
        .values_list(*LECTURER_COLUMNS)
        .iterator(chunk_size=2000)
    )
