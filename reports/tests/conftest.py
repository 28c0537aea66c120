import pytest
from django.contrib.auth.models import Group

from attendance.models import Student


@pytest.fixture
def lecturers_group(db):
    return Group.objects.get_or_create(name="Lecturers")[0]


@pytest.fixture
def student_login(make_user, students):
    """students[0]'s own login."""
    user = make_user("student0")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    students[0].user = user
    return user


@pytest.fixture
def other_student_login(make_user, students):
    user = make_user("student1")
    Student.objects.filter(pk=students[1].pk).update(user=user)
    return user
