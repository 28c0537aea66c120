"""In Chromium on a phone-sized screen: a student asks to excuse an absence with a
photo of a note, the lecturer approves it, and the student sees "Excused"."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from attendance.models import AttendanceChange
from excuses.models import ExcuseRequest
from excuses.tests.conftest import PNG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(django_settings.BASE_DIR) / "artifacts"
PHONE = {"width": 390, "height": 844}
WAIT_MS = 10_000


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}{next_path}", timeout=WAIT_MS)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_student_asks_with_a_png_the_lecturer_approves_and_the_student_sees_excused(
    live_server, browser, ada_user, lecturer, ada_record
):
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.url
    student = browser.new_context(viewport=PHONE).new_page()
    teacher = browser.new_context(viewport=PHONE).new_page()

    # The student asks, attaching a photo of the note.
    sign_in(student, base, "ada", reverse("excuses:new", args=[ada_record.pk]))
    assert "Absent" in student.inner_text("main")
    assert no_sideways_scroll(student)
    student.fill("#id_reason", "I had the flu; the doctor's note is attached.")
    student.set_input_files(
        "#id_attachment", files=[{"name": "note.png", "mimeType": "image/png", "buffer": PNG}]
    )
    student.click("#excuse-form button[type=submit]")
    student.wait_for_url(f"{base}{reverse('excuses:mine')}", timeout=WAIT_MS)
    excuse = ExcuseRequest.objects.get()
    row = f"#excuse-{excuse.pk}"
    assert student.inner_text(f"{row} [data-outcome]").strip() == "Waiting"
    assert excuse.attachment_type == "image/png"
    assert no_sideways_scroll(student)

    # The lecturer finds it in the queue, opens it and approves.
    sign_in(teacher, base, "lecturer", reverse("excuses:queue"))
    assert no_sideways_scroll(teacher)
    teacher.click(f"#excuse-{excuse.pk} a:has-text('Decide')")
    teacher.wait_for_selector("#decide-form", timeout=WAIT_MS)
    assert "I had the flu" in teacher.inner_text("main")
    assert no_sideways_scroll(teacher)
    with teacher.expect_download() as download:
        teacher.click("a:has-text('note.png')")
    assert download.value.suggested_filename == "note.png"
    teacher.fill("#id_comment", "Get well soon")
    teacher.click("#decide-form button[value=approve]")
    teacher.wait_for_selector("#excuse-state:has-text('Approved')", timeout=WAIT_MS)
    teacher.screenshot(path=str(ARTIFACTS / "excuse-approved.png"), full_page=True)

    # The student sees the outcome; the register says excused, with its audit row.
    student.reload()
    assert student.inner_text(f"{row} [data-outcome]").strip() == "Excused"
    assert "Get well soon" in student.inner_text(row)
    student.screenshot(path=str(ARTIFACTS / "excuse-student.png"), full_page=True)
    ada_record.refresh_from_db()
    assert ada_record.status == "excused"
    change = AttendanceChange.objects.get(record=ada_record)
    assert change.changed_by == lecturer and f"#{excuse.pk}" in change.reason
