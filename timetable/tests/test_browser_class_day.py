"""A lecturer's class day in Chromium: the sweeper opens the timetabled class and the
dashboard card turns to running without a reload; the name list fills as phones join.

The production shape: daphne serving the page on one Redis channel layer, and
the sweep run by another process (this test's) publishing through it.
"""

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone
from websockets.asyncio.client import connect

from attendance import sweeper
from attendance.devices import register_device
from attendance.models import NetworkSession
from config.settings import redis_channel_layer
from conftest import test_redis_url
from realtime.tests.servers import daphne
from realtime.tests.test_browser_live_dashboard import PASSWORD
from timetable import meetings
from timetable.schedule import school_zone
from timetable.tests.builders import spring_term

pytestmark = [
    pytest.mark.browser,
    pytest.mark.servers,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
ARTIFACTS = Path(django_settings.BASE_DIR) / "artifacts"
WAIT_MS = 10_000


def _off_the_browser_thread(work):
    """Run `work` where no event loop runs (Playwright's runs in this thread)."""

    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def _phone_joins(port: int, device, token: str, code: str) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws/device/") as phone:
        await phone.send(
            json.dumps({"type": "hello", "device": str(device.public_id), "token": token})
        )
        await phone.send(json.dumps({"type": "join", "code": code}))
        while (reply := json.loads(await asyncio.wait_for(phone.recv(), 10)))["type"] != "joined":
            assert reply["type"] == "welcome", reply


def zone_at_midday(now: datetime) -> str:
    """A time zone (a fixed offset) in which `now` falls between 11:30 and 12:30.

    The server process and this test both keep the school's clock in it, so a
    class starting in three minutes and lasting an hour never crosses midnight
    and the dashboard's "today" never turns over, whenever the test runs.
    """
    utc = now.astimezone(UTC)
    offset = round(12 - utc.hour - utc.minute / 60)
    if offset > 12:  # Etc/GMT zones run from -12 to +14 hours
        offset -= 24
    # The Etc/GMT names count the other way round: Etc/GMT-5 is five hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
def midday(settings):
    settings.TIME_ZONE = zone_at_midday(timezone.now())
    return {"TIME_ZONE": settings.TIME_ZONE}


@pytest.fixture
def todays_class(midday, course, students, lecturer):
    """A one-off class of `course` starting within the opening lead, so the next sweep opens it."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    lecturer.password = PBKDF2PasswordHasher().encode(PASSWORD, "browsertest", iterations=1000)
    lecturer.save(update_fields=["password"])
    start = timezone.localtime(timezone.now() + timedelta(minutes=3), school_zone())
    term = spring_term()
    term.starts_on, term.ends_on = (
        start.date() - timedelta(days=1),
        start.date() + timedelta(days=1),
    )
    term.save()
    meeting, _ = meetings.meeting_create(
        course=course,
        term=term,
        weekday=start.weekday(),
        start_time=start.time(),
        duration_minutes=60,
        room="A1",
        valid_from=start.date(),
        valid_to=start.date(),
    )
    return meeting


@pytest.fixture
def layer(settings, midday):
    """The server's environment: its channel layer, and the school's clock at midday."""
    prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(test_redis_url(), prefix=prefix)}
    return {"REDIS_URL": test_redis_url(), "CHANNEL_LAYER_PREFIX": prefix, **midday}


def test_the_sweeper_opens_the_class_and_the_card_and_names_follow_live(
    tmp_path, layer, todays_class, course, students, lecturer, browser
):
    ARTIFACTS.mkdir(exist_ok=True)
    devices = [register_device(student=s, name="phone") for s in students[:3]]
    card = f"#course-{course.pk}"
    with daphne(workdir=tmp_path, extra_env=layer) as port:
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            base = f"http://127.0.0.1:{port}"
            page.goto(f"{base}/login/?next=/")
            page.fill("#id_username", lecturer.username)
            page.fill("#id_password", PASSWORD)
            page.click("form[action='/login/'] button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.wait_for_selector("#live-indicator[data-state='live']", timeout=WAIT_MS)
            page.wait_for_selector("#today .class-row.status-upcoming", timeout=WAIT_MS)
            assert "automatically" in page.inner_text("#today")
            assert page.is_visible(f"{card} button:has-text('Start session')")
            page.evaluate("window.rollcallNoReload = 'still here'")

            # The sweeper (this process) opens the class; the card turns by itself.
            opened = _off_the_browser_thread(lambda: sweeper.sweep_once().jobs)
            assert opened == {"classes_opened": 1}
            page.wait_for_selector(f"{card}.running [data-code]", timeout=WAIT_MS)
            session = NetworkSession.objects.get(course=course, is_active=True)
            assert page.inner_text(f"{card} [data-code]").strip() == session.join_code
            page.wait_for_selector("#today .class-row.status-running", timeout=WAIT_MS)
            roster = f"#roster-{session.pk}"
            assert page.inner_text(f"{roster} [data-roster='waiting']") == "5"
            page.screenshot(path=str(ARTIFACTS / "timetable-opened.png"), full_page=True)

            # Phones join one by one; each name moves to "Checked in" without a reload.
            for joined, (device, token) in enumerate(devices, start=1):
                code = session.join_code
                _off_the_browser_thread(
                    lambda d=device, t=token, c=code: asyncio.run(_phone_joins(port, d, t, c))
                )
                page.wait_for_function(
                    "([sel, n]) => document.querySelector(sel)?.textContent.trim() === n",
                    arg=[f"{roster} [data-roster='checked_in']", str(joined)],
                    timeout=WAIT_MS,
                )
                assert device.student.full_name in page.inner_text(f"{roster} .roster-in")
            assert device.student.full_name not in page.inner_text(f"{roster} .roster-waiting")
            assert page.inner_text(f"{roster} [data-roster='waiting']") == "2"
            assert page.evaluate("window.rollcallNoReload") == "still here"
            page.screenshot(path=str(ARTIFACTS / "timetable-names.png"), full_page=True)

            # End session? names how many will be marked absent.
            page.click(f"{card} a:has-text('End session')")
            page.wait_for_selector("#dialog .confirm", timeout=WAIT_MS)
            assert "2 of 5 enrolled students have not checked in" in page.inner_text("#dialog")
            page.screenshot(path=str(ARTIFACTS / "timetable-end-question.png"), full_page=True)
            page.click("#dialog button:has-text('End session')")
            page.wait_for_selector(f"{card}:not(.running)", timeout=WAIT_MS)
            assert page.inner_text("#dialog").strip() == ""
        finally:
            connections.close_all()
    session.refresh_from_db()
    assert not session.is_active and session.scheduled_start is not None
    assert session.records.filter(status="absent").count() == 2
