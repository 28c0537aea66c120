"""The deployed topology, run for real: nginx, two daphne processes (DEBUG=0), the sweeper,
PostgreSQL and Redis, driven through nginx as a TLS proxy in front of it would.

Every request carries `X-Forwarded-Proto: https`, as the proxy that terminates
TLS sends it. One module-scoped topology serves the tests (about 10 s to start).
"""

import asyncio
import http.client
import json
import re
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from attendance.devices import register_device
from attendance.models import AttendanceRecord, ConnectedDevice, NetworkSession
from conftest import _missing
from ops.tests.topology import nginx_binary, running_topology

pytestmark = [pytest.mark.servers, pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "correct horse battery"
HTTPS = {"X-Forwarded-Proto": "https"}
FORGED = "203.0.113.66"
WAIT = 10.0


@pytest.fixture(scope="module")
def topology(django_db_setup, tmp_path_factory):
    from django.db import connection

    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if nginx_binary() is None:
        _missing("needs nginx (Debian's package `nginx`): run `make debian-packages`")
    with running_topology(tmp_path_factory.mktemp("topology")) as running:
        yield running


class Browser:
    """A browser behind the TLS proxy: keeps cookies, sends the proxy's headers."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: str = "", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        head = {**HTTPS, **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            head.setdefault("Origin", f"https://127.0.0.1:{self.port}")
            head["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            head.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=head)
        response = conn.getresponse()
        content = response.read()
        jar = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        self.cookies.update({k: m.value for k, m in jar.items() if m.value})
        conn.close()
        return response, content

    def sign_in(self, username: str) -> None:
        response, html = self.request("GET", "/login/")
        assert response.status == 200, response.status
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
        response, _ = self.request(
            "POST",
            "/login/",
            body=f"username={username}&password={PASSWORD}&csrfmiddlewaretoken={token}",
        )
        assert response.status == 302, response.status
        assert "sessionid" in self.cookies


def get(port: int, path: str, headers=None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def test_behind_tls_a_forwarded_https_request_is_served_not_redirected(topology):
    # The TLS proxy's https reaches Django through nginx: served, not sent to https again.
    response = get(topology.nginx_port, "/login/", HTTPS)
    assert response.status == 200, (response.status, response.getheader("Location"))
    # Reached over plain HTTP with no proxy in front: redirected to https once.
    plain = get(topology.nginx_port, "/login/")
    assert plain.status == 301
    assert plain.getheader("Location") == f"https://127.0.0.1:{topology.nginx_port}/login/"


def test_static_files_are_served_hashed_with_long_cache_headers(topology):
    page = get(topology.nginx_port, "/login/", HTTPS)
    css = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.body)
    assert css, "the page links no hashed stylesheet"
    response = get(topology.nginx_port, css.group(1).decode(), {**HTTPS, "Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/css")
    cache = response.getheader("Cache-Control")
    assert "immutable" in cache and "max-age=315360000" in cache, cache
    assert response.getheader("Content-Encoding") == "gzip"


def test_probes_answer_on_each_process_and_metrics_stay_off_the_balancer(topology):
    for port in topology.backends:
        ready = get(port, "/readyz")
        assert ready.status == 200, ready.body
        assert json.loads(ready.body) == {"status": "ok"}
        assert b"django_http_requests_latency_seconds_by_view_method" in get(port, "/metrics").body
    assert get(topology.nginx_port, "/metrics", HTTPS).status == 404
    sweeper = get(topology.sweeper_metrics_port, "/metrics")
    assert sweeper.status == 200
    age = re.search(rb"^rollcall_sweep_last_success_age_seconds (\S+)$", sweeper.body, re.M)
    assert age and float(age.group(1)) < 30, sweeper.body[-500:]


# --- a class through the balancer, losing one of its two servers ------------------------


class Device:
    """A phone's socket through nginx: hello, join, and back by session id after a drop."""

    def __init__(self, url: str, device, token: str):
        self.url, self.device, self.token = url, device, token
        self.ws = None
        self.backend = ""
        self.reconnects = 0

    async def open(self) -> dict:
        # The client forges X-Forwarded-For; nginx must replace it.
        self.ws = await connect(
            f"{self.url}/ws/device/",
            additional_headers={**HTTPS, "X-Forwarded-For": FORGED},
            proxy=None,
            open_timeout=WAIT,
        )
        # "dead, alive" when nginx tried a process that died and went on to the next.
        self.backend = self.ws.response.headers.get("X-Upstream", "").split(",")[-1].strip()
        await self.ws.send(
            json.dumps({"type": "hello", "device": str(self.device.public_id), "token": self.token})
        )
        welcome = await self.next("welcome")
        return welcome

    async def next(self, kind: str) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if frame["type"] == kind:
                return frame
            assert frame["type"] not in {"error"}, frame

    async def join(self, **how) -> dict:
        await self.ws.send(json.dumps({"type": "join", **how}))
        return await self.next("joined")

    async def come_back(self, session_id: int) -> None:
        """What device.js does after a drop: reconnect through nginx, re-attach by session."""
        for delay in (0.2, 0.5, 1, 2):
            try:
                await self.open()
                await self.join(session=session_id)
                self.reconnects += 1
                return
            except (OSError, ConnectionClosed, TimeoutError):
                await asyncio.sleep(delay)
        raise AssertionError(f"device {self.device.pk} could not come back")

    async def dropped(self) -> bool:
        try:
            await asyncio.wait_for(self.ws.recv(), 0.05)
        except TimeoutError:
            return False
        except ConnectionClosed:
            return True
        return False


class Lecturer:
    """The events socket, signed in by the web session's cookie."""

    def __init__(self, url: str, cookies: dict, origin: str):
        self.url, self.cookies, self.origin = url, cookies, origin
        self.counts: dict = {}

    async def open(self) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.ws = await connect(
            f"{self.url}/ws/events/",
            additional_headers={**HTTPS, "Cookie": cookie},
            origin=self.origin,
            proxy=None,
            open_timeout=WAIT,
        )
        self.backend = self.ws.response.headers.get("X-Upstream", "")
        snapshot = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
        assert snapshot["type"] == "snapshot", snapshot

    async def until(self, kind: str, test=lambda event: True) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            event = json.loads(await asyncio.wait_for(self.ws.recv(), deadline - loop.time()))
            if event["type"] == "session.counts":
                self.counts = event
            if event["type"] == kind and test(event):
                return event


def _set_password(user) -> None:
    # The servers check passwords with Django's real hashers: PBKDF2, few rounds.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "topology", iterations=1000)
    user.save(update_fields=["password"])


def test_a_class_survives_losing_one_of_its_two_servers(
    topology, transactional_db, lecturer, course, make_students
):
    _set_password(lecturer)
    students = make_students(8, course=course)
    phones = [register_device(student=s, name="phone") for s in students[:6]]
    browser = Browser(topology.nginx_port)
    browser.sign_in("lecturer")
    response, html = browser.request("GET", "/")
    assert response.status == 200 and course.code.encode() in html
    response, _ = browser.request("POST", f"/courses/{course.pk}/start/")
    assert response.status == 302
    session = NetworkSession.objects.get(course=course, is_active=True)
    ws_url = f"ws://127.0.0.1:{topology.nginx_port}"

    async def scenario() -> dict:
        lecturer_socket = Lecturer(
            ws_url, browser.cookies, f"https://127.0.0.1:{topology.nginx_port}"
        )
        await lecturer_socket.open()
        devices = [Device(ws_url, device, token) for device, token in phones]
        for device in devices:
            await device.open()
            joined = await device.join(code=session.join_code)
            assert joined["session"] == session.pk
        backends = {d.backend for d in devices} | {lecturer_socket.backend}
        assert len(backends) == 2, backends
        elsewhere = [d for d in devices if d.backend != lecturer_socket.backend]
        assert len(elsewhere) >= 2, "round robin put too few devices on the other process"
        # Joins on the other process reach the lecturer through Redis.
        await lecturer_socket.until("session.counts", lambda e: e["checked_in"] == 6)

        # The other process crashes: its devices come back through nginx to this one.
        port = int(elsewhere[0].backend.rsplit(":", 1)[1])
        topology.kill_backend(port)
        for device in elsewhere:
            while not await device.dropped():
                await asyncio.sleep(0.05)
            await device.come_back(session.pk)
        assert {d.backend for d in elsewhere} == {lecturer_socket.backend}
        # Still counted, and the lecturer's socket never dropped.
        await asyncio.sleep(0.3)
        assert lecturer_socket.counts["connected"] == 6
        assert lecturer_socket.counts["checked_in"] == 6

        # The lecturer ends the class through the API with the web session.
        response, body = await asyncio.to_thread(
            browser.request,
            "POST",
            f"/api/sessions/{session.pk}/end/",
            body="{}",
            headers={"Content-Type": "application/json"},
        )
        assert response.status == 200, body
        ended = await lecturer_socket.until("session.ended")
        finals = [await d.next("session.ended") for d in devices]
        return {
            "api": json.loads(body),
            "ended": ended,
            "finals": finals,
            "reconnects": sum(d.reconnects for d in devices),
        }

    try:
        result = asyncio.run(scenario())
    finally:
        for port in topology.backends:
            topology.revive_backend(port)
    assert result["reconnects"] >= 2
    assert (result["api"]["present"], result["api"]["absent"]) == (6, 2)
    assert (result["ended"]["present"], result["ended"]["absent"]) == (6, 2)
    assert {f["status"] for f in result["finals"]} == {"present"}
    # The register is exact: one record per enrolled student, one presence row per device.
    records = AttendanceRecord.objects.filter(session=session)
    assert records.count() == 8
    assert sorted(records.values_list("status", flat=True)) == ["absent"] * 2 + ["present"] * 6
    rows = ConnectedDevice.objects.filter(session=session)
    assert rows.count() == 6
    # The address nginx saw, never the one the client claimed.
    assert set(rows.values_list("ip_address", flat=True)) == {"127.0.0.1"}
