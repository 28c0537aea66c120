"""The attendance part of the demo school: logins, courses, students, devices.

Idempotent: everything is looked up before it is made, and nothing that
exists is changed, so running it again (every `make run`) changes nothing.
`manage.py seed_demo` (the demo app) composes it with the other apps' parts.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from attendance.devices import register_device
from attendance.models import Course, Device, Enrollment, Student

FIRST_NAMES = [
    "Ada", "Bola", "Chen", "Dami", "Efe", "Femi", "Grace", "Hassan", "Ife", "Jide",
    "Kemi", "Lara", "Musa", "Nkechi", "Ola", "Priya", "Quadri", "Rita", "Sade", "Tunde",
]  # fmt: skip
LAST_NAMES = ["Adeyemi", "Bello", "Okafor", "Eze", "Mensah", "Nwosu", "Ibrahim", "Cole"]
STUDENTS = 40

COURSES = [
    ("MATH101", "Calculus I"),
    ("PHYS110", "Mechanics"),
    ("HIST210", "Modern African History"),
]
OTHER_COURSE = ("ECON120", "Principles of Economics")

# (username, password, staff) - printed at the end so the demo can be used at once.
LOGINS = [
    ("admin", "admin", True),
    ("lecturer", "lecturer", False),
    ("lecturer2", "lecturer2", False),
    ("student", "student", False),
]

LOGIN_LINES = [
    "  admin / admin          superuser: Django admin at /admin/",
    "  lecturer / lecturer    teaches MATH101, PHYS110, HIST210",
    "  lecturer2 / lecturer2  teaches ECON120 only (sees none of the above)",
    "  student / student      the first demo student: /me/ and /device/",
]


def seed_school(*, stdout=None) -> None:
    with transaction.atomic():
        users = {name: _user(name, password, staff) for name, password, staff in LOGINS}
        courses = [_course(code, title) for code, title in COURSES]
        for course in courses:
            course.lecturers.add(users["lecturer"])
        _course(*OTHER_COURSE).lecturers.add(users["lecturer2"])
        students = [_student(i) for i in range(STUDENTS)]
        if students[0].user_id is None:
            students[0].user = users["student"]
            students[0].save(update_fields=["user"])
        # The first course has everyone (the simulator joins 30 devices to
        # it); the others take a subset each.
        _enrol(courses[0], students)
        _enrol(courses[1], students[::2])
        _enrol(courses[2], students[: STUDENTS // 2])
        with_device = set(Device.objects.values_list("student_id", flat=True))
        made = 0
        for student in students:
            if student.pk not in with_device:
                # The token is not kept: demo devices register again on the device page.
                register_device(student=student, name=f"{student.first_name}'s phone")
                made += 1
    if stdout is not None:
        stdout.write(
            f"Demo school: {len(courses) + 1} courses, {len(students)} students, "
            f"{made} new device(s)."
        )


def _user(username: str, password: str, staff: bool):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": staff, "is_superuser": staff}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _course(code: str, title: str) -> Course:
    return Course.objects.get_or_create(code=code, defaults={"title": title})[0]


def _student(i: int) -> Student:
    first = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = LAST_NAMES[(i * 3) % len(LAST_NAMES)]
    return Student.objects.get_or_create(
        student_number=f"S{i + 1:04d}",
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}{i + 1}@students.example.org".lower(),
        },
    )[0]


def _enrol(course: Course, students: list[Student]) -> None:
    Enrollment.objects.bulk_create(
        [Enrollment(course=course, student=s) for s in students], ignore_conflicts=True
    )
