"""A strict Content-Security-Policy on every page, and no page that needs more.

script-src and style-src are 'self' only: every template is checked for inline
<script>, <style>, style="" and on*="" attributes, every page a user reaches is
rendered and checked again with its header, and the static JavaScript is
checked for the eval family the policy forbids.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from attendance.models import Student
from attendance.sessions import end_session, start_session
from payments import ledger
from payments.models import Term

ROOT = Path(settings.BASE_DIR)
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* handler attribute"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute (htmx evaluates it)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"hx-(?:vals|vars|headers)\s*=\s*['\"]\s*(?:js|javascript):", re.I), "htmx js:"),
]


COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)


def offences(html: str) -> list[str]:
    html = COMMENTS.sub("", html)  # a template's comments never reach the browser
    found = []
    for pattern, what in INLINE:
        for match in pattern.finditer(html):
            found.append(f"{what}: {html[max(match.start() - 40, 0) : match.end() + 40]!r}")
    return found


def project_templates() -> list[Path]:
    skip = {".venv", "node_modules", "staticfiles"}
    return [
        path
        for path in ROOT.rglob("*.html")
        if not skip & set(path.relative_to(ROOT).parts) and "templates" in path.parts
    ]


def test_no_template_of_the_project_has_inline_script_style_or_handlers():
    templates = project_templates()
    assert len(templates) > 15
    found = {str(path.relative_to(ROOT)): offences(path.read_text()) for path in templates}
    assert {name: what for name, what in found.items() if what} == {}


def test_the_static_javascript_uses_nothing_the_policy_forbids():
    scripts = list((ROOT / "static" / "js").glob("*.js"))
    assert scripts
    forbidden = re.compile(r"\beval\s*\(|new\s+Function\s*\(|set(?:Timeout|Interval)\s*\(\s*['\"]")
    assert {
        s.name: forbidden.findall(s.read_text()) for s in scripts if forbidden.search(s.read_text())
    } == {}


@pytest.fixture
def school(db, course, students, lecturer, staff_user, make_user):
    """Enough of a school that every page shows its full self (chart, QR, fees, receipt)."""
    ended, _ = start_session(course=course, by=lecturer)
    end_session(session=ended, by=lecturer)
    ended.started_at -= timedelta(days=1)
    ended.date -= timedelta(days=1)
    ended.save(update_fields=["started_at", "date"])
    start_session(course=course, by=lecturer)
    today = timezone.localdate()
    for name, active in (("First Term", False), ("Second Term", True)):
        term = Term.objects.create(
            name=name,
            year=2026,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=60),
            fee=Decimal("120.00"),
            due_on=today + timedelta(days=30),
        )
        if active:
            ledger.activate_term(term=term)
            ledger.bill_term(term=term)
    payment = ledger.record_payment(
        student=students[0], term=term, amount="80.00", method="cash", by=staff_user
    ).payment
    student_user = make_user("student")
    Student.objects.filter(pk=students[0].pk).update(user=student_user)
    return {
        "session": ended,
        "student": students[0],
        "payment": payment,
        "student_user": student_user,
        "outsider": make_user("nobody"),
    }


def pages(school, course) -> list[tuple[str | None, str]]:
    """(who, URL) for every page a person reaches; who names a fixture, None is anonymous."""
    return [
        (None, "/login/"),
        ("lecturer", "/"),
        ("lecturer", "/sessions/"),
        ("lecturer", f"/sessions/{school['session'].pk}/"),
        ("lecturer", f"/courses/{course.pk}/register/"),
        ("staff_user", "/students/"),
        ("staff_user", f"/students/{school['student'].pk}/"),
        ("staff_user", f"/payments/{school['payment'].pk}/receipt/"),
        ("student_user", "/device/"),
        ("student_user", "/me/"),
        ("student_user", "/me/sessions/"),
        ("student_user", "/me/devices/"),
        ("student_user", f"/payments/{school['payment'].pk}/receipt/"),
        ("staff_user", f"/students/{school['student'].pk}/devices/"),
        ("outsider", "/device/"),
        (None, "/api/docs/"),
        ("staff_user", "/admin/"),
        ("staff_user", "/admin/attendance/course/"),
        ("staff_user", f"/admin/attendance/course/{course.pk}/change/"),
    ]


def test_every_page_has_the_policy_and_nothing_inline(client, school, course, request):
    users = {"student_user": school["student_user"], "outsider": school["outsider"]}
    seen = 0
    for who, url in pages(school, course):
        client.logout()
        if who is not None:
            user = users.get(who) or request.getfixturevalue(who)
            if who == "staff_user":
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "frame-ancestors 'none'" in policy
        html = response.content.decode()
        assert offences(html) == [], url
        seen += 1
    assert seen == len(pages(school, course))


def test_htmx_is_told_to_inject_no_style_and_evaluate_nothing(client, db):
    html = client.get("/login/").content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    assert config is not None
    assert '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    assert "css/htmx-indicator.css" in html


def test_the_course_register_chart_draws_its_bars_without_inline_style(client, school, course):
    client.force_login(school["session"].course.lecturers.get())
    html = client.get(f"/courses/{course.pk}/register/").content.decode()
    # Five students, none joined: one bar, all absent, sized by attributes.
    bar = r'<rect class="seg-absent" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"></rect>'
    assert re.search(bar, html)
