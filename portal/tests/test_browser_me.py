"""In Chromium on a phone's screen: a student signs in, lands on /me/ (no sideways
scroll of the page), and replaces an old phone with this browser."""

import pytest

from attendance.devices import register_device
from attendance.models import Device
from payments import ledger

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_a_student_signs_in_to_me_and_replaces_an_old_phone(
    live_server, browser, pupil, ada, course, add_sessions, make_courses, term, staff_user, settings
):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    # Long names and many rows: the page must still fit the phone's width.
    for extra in make_courses(ada, 3):
        extra.title = "An Introduction to Extraordinarily Long Course Titles " * 2
        extra.save(update_fields=["title"])
        add_sessions(extra, ada, ["present", "late", "absent", "excused"])
    add_sessions(course, ada, ["absent", "present"])
    ledger.record_payment(
        student=ada, term=term, amount="80.00", method="bank_transfer", by=staff_user
    )
    old, _ = register_device(student=ada, name="Cracked old phone")
    register_device(student=ada, name="Tablet")

    base = live_server.url
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw")
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/me/")
    assert "MATH101" in page.inner_text("#my-courses")
    assert "PARTIAL" in page.inner_text("#my-fees")
    assert "Cracked old phone" in page.inner_text("#my-devices")
    assert page.locator(".session-row").count() == 10
    assert no_sideways_scroll(page)

    page.click("#my-devices a:has-text('Manage')")
    page.wait_for_url(f"{base}/me/devices/")
    assert no_sideways_scroll(page)
    row = page.locator(f"#device-{old.pk}")
    row.locator("summary").click()
    row.locator("input[name=name]").fill("Shiny new phone")
    assert no_sideways_scroll(page)
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/device/", timeout=WAIT_MS)
    stored = page.evaluate("JSON.parse(localStorage.getItem('rollcall.device'))")
    new = Device.objects.get(is_active=True, name="Shiny new phone")
    assert stored["device"] == str(new.public_id) and stored["student"] == ada.student_number
    page.wait_for_selector("#device-name:has-text('Shiny new phone')", timeout=WAIT_MS)
    old.refresh_from_db()
    assert not old.is_active
    assert Device.objects.filter(student=ada, is_active=True).count() == 2
    assert no_sideways_scroll(page)
