"""One browser session, many requests at once and a logout among them: never a 500.

The old system fell over exactly here; this drives the real ASGI server.
"""

import http.client
import re
import shutil
import subprocess
import sys
import threading
from http.cookies import SimpleCookie

import pytest
from django.db import connection

from attendance.tests.conftest import ROOT, migrated_sqlite, subprocess_env
from conftest import test_redis_url
from realtime.tests.servers import daphne

__all__ = ["migrated_sqlite"]  # the fixture, shared with the attendance tests

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

MAKE_LECTURER = """
from django.contrib.auth import get_user_model
from attendance.models import Course
user = get_user_model().objects.create_user("busy", password="busy-pass-123")
for code in ("AAA100", "BBB200"):
    Course.objects.create(code=code, title=code).lecturers.add(user)
"""


def server_env(request, tmp_path) -> dict:
    """Where the server keeps its data: the test run's PostgreSQL and Redis when it
    has them (cached_db web sessions, as in production), else its own SQLite file."""
    if connection.vendor != "postgresql":
        db_path = tmp_path / "db.sqlite3"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), db_path)
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", MAKE_LECTURER],
            cwd=ROOT,
            env=subprocess_env(db_path),
            check=True,
            timeout=60,
        )
        return {"SQLITE_PATH": str(db_path)}
    # Committed rows (the test is transactional) in the test database, seen by the server.
    exec(MAKE_LECTURER, {})  # noqa: S102 - the same setup as the SQLite path, in-process
    return {"REDIS_URL": test_redis_url()} if test_redis_url() else {}


@pytest.fixture
def server(request, tmp_path, settings):
    # The server checks passwords with the project's real hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    with daphne(workdir=tmp_path, extra_env=server_env(request, tmp_path)) as port:
        yield port


def request(port, method, path, *, cookies: dict, body: str = "", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    head = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), **(headers or {})}
    if body:
        head["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=head)
    response = conn.getresponse()
    text = response.read().decode()
    jar = SimpleCookie()
    for value in response.headers.get_all("Set-Cookie") or []:
        jar.load(value)
    conn.close()
    return response.status, text, {k: m.value for k, m in jar.items()}


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_twenty_concurrent_requests_and_a_logout_never_get_a_500(server):
    status, html, cookies = request(server, "GET", "/login/", cookies={})
    assert status == 200
    status, _, set_cookies = request(
        server,
        "POST",
        "/login/",
        cookies=cookies,
        body=f"username=busy&password=busy-pass-123&csrfmiddlewaretoken={csrf_from(html)}",
        headers={"Origin": f"http://127.0.0.1:{server}"},
    )
    assert status == 302
    cookies.update(set_cookies)
    status, html, _ = request(server, "GET", "/", cookies=cookies)
    assert status == 200 and "AAA100" in html
    token = csrf_from(html)

    paths = ["/", "/sessions/", "/", "/sessions/?page=2"] * 5
    results: list = [None] * (len(paths) + 1)
    barrier = threading.Barrier(len(results))

    def fire(i: int) -> None:
        barrier.wait(timeout=10)
        if i == len(paths):
            results[i] = request(
                server,
                "POST",
                "/logout/",
                cookies=cookies,
                body=f"csrfmiddlewaretoken={token}",
                headers={"Origin": f"http://127.0.0.1:{server}"},
            )[0]
        else:
            results[i] = request(server, "GET", paths[i], cookies=cookies)[0]

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert None not in results
    assert 500 not in results
    assert set(results) <= {200, 302}
    assert results[-1] == 302
    # After the logout the session is gone for good.
    status, _, _ = request(server, "GET", "/", cookies=cookies)
    assert status == 302
