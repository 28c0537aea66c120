"""Downloads: safe file names, and exports that really stream under ASGI."""

import asyncio
import warnings

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.urls import reverse

from attendance.exports import safe_filename


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ('register-=X<b>"1', "register-_X_b_1.csv"),
        ("register-MATH101", "register-MATH101.csv"),
        ("a\r\nSet-Cookie: evil=1", "a_Set-Cookie_evil_1.csv"),
        ("../../etc/passwd", "etc_passwd.csv"),
        ('"";', "export.csv"),
        ("x" * 200, "x" * 80 + ".csv"),
    ],
)
def test_a_file_name_keeps_only_safe_characters(stem, expected):
    assert safe_filename(stem, "csv") == expected


def _scope(path: str, cookie: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


@pytest.mark.django_db(transaction=True)
def test_an_export_leaves_in_several_chunks_under_asgi(client, staff_user, make_students):
    make_students(1200)
    client.force_login(staff_user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # no disconnect: the handler cancels this when done

    async def send(message):
        sent.append(message)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(
            ASGIHandler()(_scope(reverse("payments:student-export"), cookie), receive, send)
        )
    start, *bodies = sent
    assert start["status"] == 200
    chunks = [m["body"] for m in bodies if m.get("body")]
    assert chunks[0].startswith(b"student_number,first_name")  # the header goes first
    assert len(chunks) >= 3  # 1,200 rows in chunks of 500, not one list
    assert b"".join(chunks).count(b"\r\n") == 1201
    assert not [w for w in caught if "consume synchronous iterators" in str(w.message)]
