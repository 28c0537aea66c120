"""Fixtures for the socket tests: the routed app, a device, a running session.

Socket tests use transactional data: the consumer reads the database from
another thread, which cannot see an open test transaction.
"""

import uuid

import pytest
from channels.routing import URLRouter

from attendance.devices import register_device
from attendance.sessions import start_session
from config.settings import redis_channel_layer
from conftest import test_redis_url
from realtime import broadcast, db
from realtime.routing import websocket_urlpatterns


@pytest.fixture(autouse=True)
def _channel_layer(request, settings, monkeypatch):
    """The in-memory layer, or the real Redis one under a prefix of this test's own."""
    if request.node.get_closest_marker("redis"):
        prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
        settings.CHANNEL_LAYERS = {"default": redis_channel_layer(test_redis_url(), prefix=prefix)}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    publisher = broadcast.CountsPublisher()
    monkeypatch.setattr(broadcast, "counts_publisher", publisher)
    rosters = broadcast.CountsPublisher(interval=1 / broadcast.ROSTERS_PER_SECOND, timed=False)
    monkeypatch.setattr(broadcast, "roster_publisher", rosters)
    yield
    # A trailing count send must not read the database after the test is over,
    # nor a socket's call still running on a worker thread.
    publisher.close()
    rosters.close()
    broadcast.retries.clear()
    db.finish_calls()


@pytest.fixture
def ws_app():
    return URLRouter(websocket_urlpatterns)


@pytest.fixture
def session(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    return session


@pytest.fixture
def device_and_token(students):
    return register_device(student=students[0], name="phone")


@pytest.fixture
def device(device_and_token):
    return device_and_token[0]


@pytest.fixture
def cookie_for():
    """The Cookie header of a logged-in web session for `user`."""
    from django.conf import settings
    from django.test import Client

    def make(user) -> tuple[bytes, bytes]:
        client = Client()
        client.force_login(user)
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())

    return make


@pytest.fixture
def api_key(lecturer):
    from attendance.tokens import create_api_token

    return create_api_token(user=lecturer, name="watcher")[1]


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own (realtime/tests/faults.py), to stop or pause."""
    from realtime.tests.faults import PrivateRedis

    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
