"""The analytics page and a session's timeline in Chromium: axe finds no serious or
critical violation at desktop and phone sizes, the charts fit a phone's width (they
scroll inside their box), and their values are in the page's text, not behind a hover.
"""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.tests.conftest import ended_class
from ops.tests.test_browser_accessibility import check, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def term_of_classes(course, lecturer, students):
    """Twelve ended classes on Mondays, Wednesdays and Fridays, arrivals spread out."""
    sessions = []
    for week in range(4):
        for day, hour in ((0, 9), (2, 11), (4, 14)):
            start = MONDAY_9 + timedelta(weeks=week, days=day, hours=hour - 9)
            arrivals = {s: (i * 7 + week * 3 + day) % 40 - 2 for i, s in enumerate(students)}
            del arrivals[students[(week + day) % len(students)]]
            sessions.append(ended_class(course, lecturer, start, arrivals))
    return sessions


def test_the_analytics_pages_pass_axe_on_desktop_and_phone(
    term_of_classes, lecturer, course, live_server, browser
):
    base = live_server.url
    context = browser.new_context()
    page = context.new_page()
    failures: list[str] = []
    try:
        sign_in(page, base, lecturer.username)
        analytics = f"/courses/{course.pk}/analytics/?range=all"
        check(page, base, analytics, failures)
        assert page.locator("svg.rate-chart rect.bar-rate").count() == 12
        # The values are text on the page: the heat map's cells and the bars' rates.
        heat_text = page.locator("svg.heat-chart").text_content()
        assert "%" in heat_text
        page.click(".timeline-links a >> nth=-1")  # the oldest of the latest five
        page.wait_for_url("**/timeline/")
        check(page, base, f"/sessions/{term_of_classes[7].pk}/timeline/", failures)
        assert page.locator("svg.step-chart path.step-line").count() == 1
    finally:
        context.close()
    assert not failures, "\n".join(failures)
