"""The actors of excuse requests: Ada (a student with a login) absent from an ended
MATH101 session, her classmate Bob, the course's lecturer, another lecturer, staff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.models import AttendanceRecord, Enrollment, Student
from attendance.sessions import end_session, start_session

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def upload(content: bytes, name: str = "note.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ada_user(make_user):
    user = make_user("ada")
    user.email = "ada.login@example.test"
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def bob_user(make_user):
    return make_user("bob")


@pytest.fixture
def ada(course, ada_user):
    student = Student.objects.create(
        student_number="S90001",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.test",
        user=ada_user,
    )
    Enrollment.objects.create(course=course, student=student)
    return student


@pytest.fixture
def bob(course, bob_user):
    student = Student.objects.create(
        student_number="S90002", first_name="Bob", last_name="Babbage", user=bob_user
    )
    Enrollment.objects.create(course=course, student=student)
    return student


@pytest.fixture
def ended_session(course, ada, bob, lecturer):
    """Today's MATH101 session, ended with nobody joined: everyone absent."""
    lecturer.email = "lecturer@example.test"
    lecturer.save(update_fields=["email"])
    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session)
    return session


@pytest.fixture
def ada_record(ended_session, ada) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=ended_session, student=ada)


@pytest.fixture
def bob_record(ended_session, bob) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=ended_session, student=bob)
