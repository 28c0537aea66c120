"""In Chromium: the timeout warning, "Stay signed in" and expiry over two tabs, and
"sign out all others" ending another browser's session on the login page.

A live server in this process, so short session settings apply to it directly.
"""

import re

import pytest
from django.contrib.sessions.models import Session

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000


def sign_in(page, base: str, next_path: str = "") -> None:
    page.goto(f"{base}/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("#id_username", "lecturer")
    page.fill("#id_password", "pw")
    page.click("form[action='/login/'] button[type=submit]")


def test_the_warning_stay_signed_in_and_expiry_keep_two_tabs_in_step(
    live_server, settings, browser, lecturer, course, students
):
    settings.SESSION_COOKIE_AGE = 14
    settings.SESSION_WARNING_SECONDS = 10
    base = live_server.url
    context = browser.new_context(viewport={"width": 360, "height": 740})
    first = context.new_page()
    sign_in(first, base, "/sessions/")
    first.wait_for_url(f"{base}/sessions/")
    second = context.new_page()
    second.goto(f"{base}/students/")

    # Four seconds in, both tabs warn, with a countdown.
    for tab in (first, second):
        tab.wait_for_selector("#session-banner", state="visible", timeout=WAIT_MS)
    assert re.fullmatch(r"0:\d\d", first.inner_text(".session-countdown"))

    [key] = [c["value"] for c in context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    before = Session.objects.get(session_key=key).expire_date
    first.click("#session-banner button[type=submit]")
    # Stay signed in in one tab hides the warning in both, and the session lasts longer.
    for tab in (first, second):
        tab.wait_for_selector("#session-banner", state="hidden", timeout=WAIT_MS)
    assert Session.objects.get(session_key=key).expire_date > before

    # Half a form, then nothing: the session runs out and both tabs go to the login page.
    second.fill("input[name=q]", "Ada")
    for tab, path in ((first, "/sessions/"), (second, "/students/")):
        tab.wait_for_url(re.compile(r"/login/\?next="), timeout=30_000)
        assert "expired=1" in tab.url and path.replace("/", "%2F") in tab.url
        assert "Your session has ended" in tab.inner_text("main")

    # Signed in again, the tab is back where it was and offers the typed search back.
    second.fill("#id_username", "lecturer")
    second.fill("#id_password", "pw")
    second.click("form[action='/login/'] button[type=submit]")
    second.wait_for_url(f"{base}/students/")
    second.wait_for_selector("#form-restore", state="visible", timeout=WAIT_MS)
    assert second.input_value("input[name=q]") == ""
    second.click("#form-restore [data-restore=yes]")
    assert second.input_value("input[name=q]") == "Ada"
    assert second.is_hidden("#form-restore")
    context.close()


def test_sign_out_all_others_sends_the_other_browser_to_the_login_page(
    live_server, browser, lecturer, course
):
    base = live_server.url
    laptop = browser.new_context()
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    laptop_page, phone_page = laptop.new_page(), phone.new_page()
    sign_in(laptop_page, base)
    sign_in(phone_page, base, "/sessions/")
    phone_page.wait_for_url(f"{base}/sessions/")

    laptop_page.goto(f"{base}/account/sessions/")
    assert "Sign out all other sessions (1)" in laptop_page.inner_text("main")
    laptop_page.click("text=Sign out all other sessions")
    laptop_page.wait_for_selector("text=You are signed in only here.")

    # The phone's next click lands on the login page, never an error page.
    response = phone_page.goto(f"{base}/")
    assert response.status == 200
    assert phone_page.url.startswith(f"{base}/login/")
    assert phone_page.is_visible("#id_username")
    laptop_page.goto(f"{base}/")
    assert laptop_page.url == f"{base}/"
    laptop.close()
    phone.close()
