"""PUBLIC_URL fixes the address the join QR codes point phones to."""

import pytest

from attendance.sessions import start_session
from attendance.templatetags.join_codes import device_page_url


@pytest.fixture
def running(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    return session


def test_without_it_the_qr_uses_the_pages_own_address(client, lecturer, running, settings):
    settings.PUBLIC_URL = ""
    client.force_login(lecturer)
    html = client.get("/").content.decode()
    assert f"http://testserver/device/?code={running.join_code}" in html


def test_with_it_a_lecturer_on_localhost_shows_phones_the_lan_address(
    client, lecturer, running, settings
):
    settings.PUBLIC_URL = "http://192.168.1.20:8000"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "192.168.1.20"]
    client.force_login(lecturer)
    html = client.get("/", HTTP_HOST="127.0.0.1:8000").content.decode()
    assert f"http://192.168.1.20:8000/device/?code={running.join_code}" in html
    assert "http://127.0.0.1:8000/device/" not in html


def test_pushed_cards_use_it_too(settings):
    # The dashboard socket renders cards through the same tag, with the Origin as base.
    settings.PUBLIC_URL = "https://attendance.school.example"
    url = device_page_url("http://127.0.0.1:8000", "123456")
    assert url == "https://attendance.school.example/device/?code=123456"
