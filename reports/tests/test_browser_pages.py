"""In Chromium on a phone: the report pages fit 390 px, wide tables scroll in their wrappers,
and the CSP refuses nothing."""

import pytest
from django.urls import reverse

from attendance.models import Course
from reports.tests.builders import everyone, write_register

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_report_pages_fit_a_phone(live_server, browser, lecturer, course, students):
    Course.objects.filter(pk=course.pk).update(title="A rather long course title " * 3)
    for day in range(8):
        write_register(
            course,
            {**everyone(students, "present"), students[0]: "absent", students[1]: "late"},
            days_ago=8 - day,
        )
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{base}/login/")
    page.fill("#id_username", "lecturer")
    page.fill("#id_password", "pw")
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{base}/")
    for path in (
        reverse("reports:student-attendance", args=[students[0].pk]),
        reverse("reports:course-at-risk", args=[course.pk]),
        reverse("reports:school-at-risk"),
        reverse("course-register", args=[course.pk]),
    ):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    assert refused == []
