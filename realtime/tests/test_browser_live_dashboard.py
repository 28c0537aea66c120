"""The whole loop in a real browser: a phone checks in and the lecturer's dashboard counts it live.

Debian's Chromium (or CHROMIUM_PATH's, or Playwright's own off Debian) drives
two contexts against a daphne process serving the test database: the
lecturer's dashboard, and a 360 px phone running the device page.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections

from attendance.devices import revoke_device
from attendance.models import AttendanceRecord, ConnectedDevice, Device, NetworkSession, Student
from attendance.sessions import start_session
from realtime.tests.servers import daphne, free_port

PASSWORD = "correct horse"
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
WAIT_MS = 10_000

pytestmark = [pytest.mark.browser, pytest.mark.servers, pytest.mark.postgres]


def _set_password(user) -> None:
    # The server process keeps Django's default hashers (the tests' fast MD5 is
    # not among them); a PBKDF2 hash with few rounds is valid there and quick here.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "browsertest", iterations=1000)
    user.save(update_fields=["password"])


def _sign_in(page, username: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")


def test_a_phone_checks_in_and_the_dashboard_counts_it_without_a_reload(
    transactional_db, tmp_path, lecturer, course, students, student_user, browser
):
    _set_password(lecturer)
    _set_password(student_user)
    ARTIFACTS.mkdir(exist_ok=True)
    with daphne(workdir=tmp_path) as port:
        base = f"http://127.0.0.1:{port}"
        card = f"#course-{course.pk}"

        lecturer_ctx = browser.new_context(viewport={"width": 1100, "height": 800})
        dashboard = lecturer_ctx.new_page()
        dashboard.goto(f"{base}/login/?next=/")
        _sign_in(dashboard, lecturer.username)
        dashboard.wait_for_url(f"{base}/")
        dashboard.click(f"{card} button:has-text('Start session')")
        dashboard.wait_for_selector(f"{card} [data-code]", timeout=WAIT_MS)
        code = dashboard.inner_text(f"{card} [data-code]").strip()
        assert len(code) == 6 and code.isdigit()
        assert dashboard.inner_text(f"{card} [data-count='checked_in']").strip() == "0"
        # A full reload would wipe this marker; a live update keeps it.
        dashboard.evaluate("window.rollcallNoReload = 'still here'")

        phone_ctx = browser.new_context(
            viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
        )
        phone = phone_ctx.new_page()
        phone.goto(f"{base}/device/?code={code}")
        phone.wait_for_url("**/login/**")
        _sign_in(phone, student_user.username)
        phone.wait_for_selector("#panel-register:not([hidden])", timeout=WAIT_MS)
        assert phone.input_value("#id_code") == code
        phone.screenshot(path=str(ARTIFACTS / "device-register.png"), full_page=True)
        phone.fill("#id_device_name", "Test phone")
        phone.click("#register-form button[type=submit]")
        phone.wait_for_selector("#panel-checked-in:not([hidden])", timeout=WAIT_MS)
        assert phone.inner_text("#joined-course") == course.code
        assert phone.get_attribute("#conn", "data-state") == "live"
        stored = phone.evaluate("JSON.parse(localStorage.getItem('rollcall.session'))")
        session = NetworkSession.objects.get(course=course, is_active=True)
        assert stored["id"] == session.pk
        phone.screenshot(path=str(ARTIFACTS / "device-checked-in.png"), full_page=True)

        dashboard.wait_for_function(
            f"document.querySelector(\"{card} [data-count='checked_in']\").textContent.trim()"
            " === '1'",
            timeout=WAIT_MS,
        )
        assert dashboard.evaluate("window.rollcallNoReload") == "still here"
        dashboard.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=True)

        # Ending asks first ("End session?", with how many will be marked absent).
        dashboard.click(f"{card} a:has-text('End session')")
        dashboard.click("#dialog button:has-text('End session')")
        phone.wait_for_selector("#panel-ended:not([hidden])", timeout=WAIT_MS)
        assert phone.inner_text("#final-status") == "Recorded: Present"
        assert phone.get_attribute("#conn", "data-state") == "ended"
        assert phone.evaluate("localStorage.getItem('rollcall.session')") is None
        phone.screenshot(path=str(ARTIFACTS / "device-ended.png"), full_page=True)
        dashboard.screenshot(path=str(ARTIFACTS / "dashboard-ended.png"), full_page=True)
        phone_ctx.close()
        lecturer_ctx.close()

    session.refresh_from_db()
    assert not session.is_active
    student = Student.objects.get(user=student_user)
    assert Device.objects.filter(student=student, name="Test phone").count() == 1
    record = AttendanceRecord.objects.get(session=session, student=student)
    assert record.status == "present"


def _off_the_browser_thread(work) -> None:
    """Run a service call where no event loop runs, so its after-commit broadcast can too."""

    def run():
        try:
            work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def _connected_row(session, student):
    return ConnectedDevice.objects.filter(session=session, device__student=student)


def _wait_until(predicate, *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def running_session(transactional_db, course, lecturer):
    # Made before the browser starts: its broadcast needs a thread without an event loop.
    session, _ = start_session(course=course, by=lecturer)
    return session


def test_the_phone_reattaches_to_its_session_after_a_server_restart(
    tmp_path, running_session, students, student_user, browser
):
    session = running_session
    _set_password(student_user)
    student = Student.objects.get(user=student_user)
    port = free_port()
    phone_ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = phone_ctx.new_page()
    with daphne(workdir=tmp_path, port=port):
        phone.goto(f"http://127.0.0.1:{port}/device/?code={session.join_code}")
        _sign_in(phone, student_user.username)
        phone.click("#register-form button[type=submit]")
        phone.wait_for_selector("#panel-checked-in:not([hidden])", timeout=WAIT_MS)
    phone.wait_for_selector("#conn[data-state='reconnecting']", timeout=WAIT_MS)
    # A killed server never runs disconnect(); the sweep marks the phone gone meanwhile.
    assert _connected_row(session, student).update(is_connected=False) == 1

    with daphne(workdir=tmp_path, port=port):
        # Backoff is at most 1, 2, 4, 8 s while the server is down: live again well within 20 s.
        phone.wait_for_selector("#conn[data-state='live']", timeout=20_000)
        # Only a re-attach by session id marks it connected again.
        assert _wait_until(lambda: _connected_row(session, student).get().is_connected)
        assert phone.is_visible("#panel-checked-in")
        assert phone.evaluate("JSON.parse(localStorage.getItem('rollcall.session')).id") == (
            session.pk
        )
        phone.screenshot(path=str(ARTIFACTS / "device-reconnected.png"), full_page=True)
    phone_ctx.close()
    assert _connected_row(session, student).count() == 1


def test_a_revoked_phone_stops_and_offers_to_register_again(
    tmp_path, running_session, students, student_user, browser
):
    _set_password(student_user)
    phone_ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = phone_ctx.new_page()
    # A short heartbeat: the server refuses a revoked device at its next message.
    with daphne(workdir=tmp_path, extra_env={"ATTENDANCE_HEARTBEAT_SECONDS": "1"}) as port:
        phone.goto(f"http://127.0.0.1:{port}/device/?code={running_session.join_code}")
        _sign_in(phone, student_user.username)
        phone.click("#register-form button[type=submit]")
        phone.wait_for_selector("#panel-checked-in:not([hidden])", timeout=WAIT_MS)
        _off_the_browser_thread(
            lambda: revoke_device(device=Device.objects.get(student__user=student_user))
        )
        phone.wait_for_selector("#panel-register:not([hidden])", timeout=WAIT_MS)
        assert "no longer valid" in phone.inner_text("#device-error")
        assert phone.get_attribute("#conn", "data-state") == "offline"
        assert phone.evaluate("localStorage.getItem('rollcall.device')") is None
        phone.screenshot(path=str(ARTIFACTS / "device-revoked.png"), full_page=True)
        # No reconnect loop: the page stays closed after a 4403.
        phone.wait_for_timeout(1500)
        assert phone.get_attribute("#conn", "data-state") == "offline"
    phone_ctx.close()
