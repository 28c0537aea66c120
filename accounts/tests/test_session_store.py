"""Web sessions while Redis is away: served from the database, never a 500, and a
sign-out made meanwhile stays a sign-out when Redis comes back with its data."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
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


def _signed_in(lecturer) -> Client:
    lecturer.set_password("a-long-password-1")
    lecturer.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": "lecturer", "password": "a-long-password-1"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200  # through the cache, if it answers
    return client


def test_signing_in_using_pages_and_signing_out_work_without_redis(redis_away, lecturer):
    client = _signed_in(lecturer)
    assert Session.objects.count() == 1
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


@pytest.fixture
def redis_with_sessions(settings, monkeypatch):
    """The production session engine on the tests' Redis; `away()` points the cache at a
    port nothing listens on (same key prefix), `back()` at the Redis again, with its data."""
    from accounts import session_store
    from conftest import test_redis_url

    monkeypatch.setattr(session_store, "_skip_until", 0.0)
    monkeypatch.setattr(session_store, "_evict_first", False)
    prefix = f"rollcall-stale-{free_port()}"

    def cache(location: str) -> dict:
        return {
            "default": {
                "BACKEND": "config.redis_cache.SharedRedisCache",
                "LOCATION": location,
                "KEY_PREFIX": prefix,
                "OPTIONS": {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 1},
            }
        }

    class Switch:
        def away(self) -> None:
            settings.CACHES = cache(f"redis://127.0.0.1:{free_port()}/0")

        def back(self, *, pause_over: bool = True) -> None:
            settings.CACHES = cache(test_redis_url())
            if pause_over:
                monkeypatch.setattr(session_store, "_skip_until", 0.0)

    switch = Switch()
    switch.back()
    settings.SESSION_ENGINE = "accounts.session_store"
    yield switch
    from django.core.cache import caches

    switch.back()
    caches["default"].clear()


@pytest.mark.redis
def test_a_sign_out_while_redis_is_away_stays_signed_out_when_redis_comes_back(
    redis_with_sessions, lecturer
):
    from accounts.models import StaleCachedSession

    client = _signed_in(lecturer)
    key = client.cookies["sessionid"].value
    redis_with_sessions.away()
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert StaleCachedSession.objects.filter(cache_key__endswith=key).count() == 1
    # Redis is back with what it held: the old cookie must not be signed in again.
    redis_with_sessions.back()
    client.cookies["sessionid"] = key
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not StaleCachedSession.objects.exists()


@pytest.mark.redis
def test_sign_out_everywhere_while_redis_is_away_ends_every_cached_session(
    redis_with_sessions, lecturer
):
    from accounts.sessions import end_all_sessions

    first, second = _signed_in(lecturer), _signed_in(lecturer)
    redis_with_sessions.away()
    assert end_all_sessions(user=lecturer) == 2
    redis_with_sessions.back()
    assert first.get(reverse("dashboard")).status_code == 302
    assert second.get(reverse("dashboard")).status_code == 302


@pytest.mark.redis
def test_the_sweeper_evicts_for_a_process_that_saw_no_failure(redis_with_sessions, lecturer):
    from django.core.cache import caches

    from accounts import session_store
    from accounts.models import StaleCachedSession

    client = _signed_in(lecturer)
    key = client.cookies["sessionid"].value
    cache_key = session_store.SessionStore(key).cache_key
    redis_with_sessions.away()
    client.post(reverse("logout"))
    redis_with_sessions.back()
    # Another process: it never failed, so it would read the cache at once.
    session_store._evict_first = False
    assert caches["default"].get(cache_key) is not None
    assert session_store.sweep_job(now=timezone.now()) == {"stale_cached_sessions_evicted": 1}
    assert caches["default"].get(cache_key) is None
    assert not StaleCachedSession.objects.exists()
    client.cookies["sessionid"] = key
    assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.redis
def test_while_redis_is_still_away_the_sweeper_keeps_the_record(redis_with_sessions, lecturer):
    from accounts import session_store
    from accounts.models import StaleCachedSession

    client = _signed_in(lecturer)
    redis_with_sessions.away()
    client.post(reverse("logout"))
    assert session_store.sweep_job(now=timezone.now()) == {}
    assert StaleCachedSession.objects.count() == 1
    # Older than any session lives: its cache entry has expired, the record goes.
    later = timezone.now() + timedelta(days=60)
    assert session_store.sweep_job(now=later) == {}
    assert not StaleCachedSession.objects.exists()


def test_reading_the_cache_after_a_failure_waits_for_the_eviction(monkeypatch, db):
    """While the recorded sessions cannot be evicted, the cache is not read (a miss)."""
    from accounts import session_store
    from accounts.models import StaleCachedSession

    class Down:
        reads = 0

        def get(self, key, default=None):
            Down.reads += 1
            return {"stale": True}

        def delete_many(self, keys):
            raise ConnectionError("Redis is away")

    StaleCachedSession.objects.create(cache_key="k", deleted_at=timezone.now())
    monkeypatch.setattr(session_store, "_skip_until", 0.0)
    monkeypatch.setattr(session_store, "_evict_first", True)
    cache = session_store.ForgivingCache(Down())
    assert cache.get("k") is None
    assert Down.reads == 0
    assert StaleCachedSession.objects.count() == 1
