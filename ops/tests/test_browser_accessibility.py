"""axe-core in Chromium over the product's main pages, signed in as each role would be,
at desktop and phone sizes: no serious or critical violation, and no sideways scroll
of the whole page on a phone. On a 360 px phone: tap targets of at least 24 px, a long
roster that scrolls from the keyboard, and charts drawn at their own size.

One browser context per test (axe is injected once per page load); the analytics
page has its own in analytics/tests/test_browser_analytics.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.sessions import end_session, start_session
from attendance.tests.builders import join
from conftest import axe_violations
from payments import ledger
from payments.permissions import ensure_fees_office_group
from payments.tests.builders import current_term

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    # Until the sign-in's own page has loaded: "load" alone may be the login page's.
    with page.expect_navigation(wait_until="load"):
        page.click("form[action='/login/'] button[type=submit]")
    assert "/login/" not in page.url, page.url


def check(page, base: str, path: str, failures: list) -> None:
    """axe at each viewport size, and the phone's width fits the page."""
    for name, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        for v in axe_violations(page):
            failures.append(f"{path} ({name}): {v['id']} [{v['impact']}] {v['targets'][:5]}")
        if name == "phone":
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            if overflow > 0:
                failures.append(f"{path} (phone): the page scrolls sideways by {overflow}px")


@pytest.fixture
def school(make_user, lecturer, course, students):
    """An ended class with its register, a class running now, and a billed term in which
    students paid in full, in part and too much."""
    start = timezone.now() - timedelta(days=1)
    ended, _ = start_session(course=course, by=lecturer, now=start)
    join(ended, students[0], start + timedelta(minutes=1))
    join(ended, students[1], start + timedelta(minutes=25))
    end_session(session=ended, now=start + timedelta(hours=1))
    running, _ = start_session(course=course, by=lecturer)
    join(running, students[0], timezone.now())

    office = make_user("office")
    office.groups.add(ensure_fees_office_group())
    term = current_term(billed=True)
    for student, amount in zip(students, ("120.00", "80.00", "150.00"), strict=False):
        ledger.record_payment(
            student=student, term=term, amount=amount, method="bank_transfer", by=office
        )
    return {"ended": ended, "running": running, "office": office}


def test_the_main_pages_have_no_serious_accessibility_violations(
    school, lecturer, course, live_server, browser
):
    base = live_server.url
    context = browser.new_context()
    page = context.new_page()
    failures: list[str] = []
    try:
        check(page, base, "/login/", failures)
        sign_in(page, base, lecturer.username)
        check(page, base, "/", failures)
        check(page, base, f"/courses/{course.pk}/register/", failures)
        check(page, base, f"/sessions/{school['ended'].pk}/", failures)
        context.clear_cookies()
        sign_in(page, base, school["office"].username)
        check(page, base, "/students/", failures)
    finally:
        context.close()
    assert not failures, "\n".join(failures)


def test_the_reports_excuses_and_students_own_pages_have_no_serious_violations(
    school, make_user, lecturer, course, students, live_server, browser
):
    from attendance.devices import register_device
    from attendance.models import AttendanceRecord
    from excuses.submissions import submit_excuse
    from reports.standings import rebuild_course

    # The third student missed the ended class: at risk after one session, with a phone,
    # and asking to excuse the absence.
    course.warn_after_sessions = 1
    course.save(update_fields=["warn_after_sessions"])
    rebuild_course(course=course)
    pupil = students[2]
    pupil.user = make_user("pupil")
    pupil.save(update_fields=["user"])
    register_device(student=pupil, name="Old phone")
    absent = AttendanceRecord.objects.get(session=school["ended"], student=pupil)
    excuse = submit_excuse(record=absent, student=pupil, reason="Ill", attachment=None)
    other = AttendanceRecord.objects.get(session=school["ended"], student=students[3])

    base = live_server.url
    context = browser.new_context()
    page = context.new_page()
    failures: list[str] = []
    try:
        sign_in(page, base, "pupil")
        for path in (
            "/me/",
            "/me/sessions/",
            "/me/devices/",
            "/me/excuses/",
            f"/students/{pupil.pk}/attendance/",
        ):
            check(page, base, path, failures)
        context.clear_cookies()
        students[3].user = make_user("other-pupil")
        students[3].save(update_fields=["user"])
        sign_in(page, base, "other-pupil")
        check(page, base, f"/me/excuses/new/{other.pk}/", failures)
        context.clear_cookies()
        sign_in(page, base, lecturer.username)
        for path in (
            "/at-risk/",
            f"/courses/{course.pk}/at-risk/",
            f"/students/{pupil.pk}/attendance/",
            "/excuses/",
            f"/excuses/{excuse.pk}/",
        ):
            check(page, base, path, failures)
        context.clear_cookies()
        sign_in(page, base, school["office"].username)
        check(page, base, f"/students/{pupil.pk}/devices/", failures)
    finally:
        context.close()
    assert not failures, "\n".join(failures)


# A phone as Chromium emulates one: 360 CSS px wide, touch, and no zooming out to fit.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

# Buttons, fields, summaries and links standing on their own smaller than 24 x 24 CSS px
# (WCAG 2.5.8); a link inside a line of text (display inline) is as tall as its line.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary")]
  .filter((e) => {
    const style = getComputedStyle(e);
    if (style.visibility === "hidden" || (e.tagName === "A" && style.display === "inline")) {
      return false;
    }
    const box = e.getBoundingClientRect();
    return box.width > 0 && (box.width < 24 || box.height < 24);
  })
  .map((e) => {
    const box = e.getBoundingClientRect();
    const name = (e.textContent || e.name || e.type).trim().slice(0, 30);
    return `${e.tagName.toLowerCase()} "${name}" ${box.width.toFixed(1)}x${box.height.toFixed(1)}`;
  })"""


def small_targets(page, base: str, path: str, failures: list) -> None:
    response = page.goto(f"{base}{path}")
    page.wait_for_load_state("load")
    assert response.status == 200, (path, response.status, page.content()[:2000])
    for target in page.evaluate(SMALL_TARGETS):
        failures.append(f"{path}: {target}")


def test_tap_targets_are_at_least_24_px_on_a_phone(
    school, make_user, lecturer, course, students, live_server, browser
):
    from attendance.devices import register_device

    pupil = students[2]
    pupil.user = make_user("pupil")
    pupil.save(update_fields=["user"])
    register_device(student=pupil, name="Old phone")

    base = live_server.url
    context = browser.new_context(**PHONE)
    page = context.new_page()
    failures: list[str] = []
    try:
        small_targets(page, base, "/login/", failures)
        sign_in(page, base, lecturer.username)
        for path in (
            "/",
            f"/sessions/{school['ended'].pk}/",
            f"/courses/{course.pk}/register/",
            f"/courses/{course.pk}/week/",
            f"/courses/{course.pk}/analytics/",
            f"/students/{pupil.pk}/",
            "/account/sessions/",
        ):
            small_targets(page, base, path, failures)
        context.clear_cookies()
        sign_in(page, base, school["office"].username)
        for path in ("/students/", f"/students/{pupil.pk}/devices/"):
            small_targets(page, base, path, failures)
        context.clear_cookies()
        sign_in(page, base, "pupil")
        small_targets(page, base, "/me/", failures)
    finally:
        context.close()
    assert not failures, "\n".join(failures)


def test_a_long_roster_on_the_dashboard_can_be_scrolled_from_the_keyboard(
    make_students, lecturer, course, live_server, browser
):
    # More names than the roster's box shows: the list scrolls inside the card.
    make_students(20, course=course)
    start_session(course=course, by=lecturer)

    base = live_server.url
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, base, lecturer.username)
        waiting = page.locator(".roster-waiting ul")
        assert waiting.evaluate("(ul) => ul.scrollHeight > ul.clientHeight")
        assert waiting.get_attribute("tabindex") == "0"
        assert waiting.get_attribute("aria-label") == "Not checked in yet, scrolls"
        assert axe_violations(page) == []
    finally:
        context.close()


def test_the_rate_chart_keeps_its_size_on_a_phone(school, lecturer, students, live_server, browser):
    """Shrunk to 360 px the chart's 11 px labels would come out near 6 px: it scrolls
    sideways in its box instead, and the page itself does not."""
    base = live_server.url
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, base, lecturer.username)
        page.goto(f"{base}/students/{students[0].pk}/attendance/")
        page.wait_for_load_state("load")
        chart = page.locator(".trend-chart svg[role=img]")
        drawn, designed = chart.evaluate(
            "(svg) => [svg.getBoundingClientRect().width, svg.viewBox.baseVal.width]"
        )
        assert drawn == designed
        assert page.evaluate("() => document.documentElement.scrollWidth") == 360
    finally:
        context.close()
