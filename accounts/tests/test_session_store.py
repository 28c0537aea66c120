"""Web sessions while Redis is away: served from the database, never a 500."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from redis.backoff import NoBackoff
from redis.retry import Retry

from realtime.tests.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_away(settings, monkeypatch):
    """The Redis cache and the session engine of production, on a port nothing listens on.

    The store's pause after a failure is put back afterwards, so that later tests in this
    process read the cache again at once."""
    from accounts import session_store

    monkeypatch.setattr(session_store, "_skip_until", 0.0)
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.SharedRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "rollcall-away",
            "OPTIONS": {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 1},
        }
    }
    settings.SESSION_ENGINE = "accounts.session_store"


def test_signing_in_using_pages_and_signing_out_work_without_redis(redis_away, lecturer):
    lecturer.set_password("a-long-password-1")
    lecturer.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": "lecturer", "password": "a-long-password-1"}
    )
    assert response.status_code == 302
    assert Session.objects.count() == 1
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("accounts:sessions")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.exists()
    assert client.get(reverse("dashboard")).status_code == 302  # signed out: to the login page


def test_a_session_started_while_redis_was_up_is_read_from_the_database(redis_away, lecturer):
    # The session is in the database (as every cached_db session is); the cache is away.
    client = Client()
    client.force_login(lecturer)
    assert client.get(reverse("dashboard")).status_code == 200
    assert "lecturer" in client.get(reverse("dashboard")).content.decode()


def test_after_a_cache_failure_the_cache_is_left_alone_for_a_while(monkeypatch):
    """A Redis that hangs costs one call its timeout, not every call of every request."""
    from accounts import session_store

    class Hanging:
        calls = 0

        def get(self, key, default=None):
            Hanging.calls += 1
            raise TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(session_store, "_skip_until", 0.0)
    cache = session_store.ForgivingCache(Hanging())
    assert cache.get("a") is None
    assert cache.get("b") is None
    assert "c" not in cache
    assert Hanging.calls == 1
    monkeypatch.setattr(session_store, "_skip_until", 0.0)  # the pause is over
    assert cache.get("d") is None
    assert Hanging.calls == 2
