import pytest

from attendance.models import Student


@pytest.fixture
def student_user(make_user, students):
    """A student (enrolled in `course`) with their own login."""
    user = make_user("student")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    students[0].refresh_from_db()
    return user
