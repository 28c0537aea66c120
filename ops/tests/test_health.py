"""/healthz and /readyz: answered without a session, sign-in or Host check, and quiet in the log."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from ops import health


@pytest.fixture(autouse=True)
def _fresh_readiness_state(monkeypatch):
    # Each test starts from "ready", as a new process would.
    monkeypatch.setattr(health, "_last_failed", frozenset())


def test_healthz_answers_ok_without_a_session_or_a_cookie(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"
    assert Session.objects.count() == 0


def test_a_probe_from_an_address_outside_allowed_hosts_is_answered(client, db):
    # A load balancer or an orchestrator probes the container's own IP.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    # Everything else still checks the Host header.
    assert client.get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_readyz_checks_the_database_migrations_redis_and_the_channel_layer(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}
    assert not response.cookies
    assert Session.objects.count() == 0
    expected = {"database", "migrations", "channel_layer"}
    if health.settings.REDIS_URL:
        expected.add("redis")
    assert set(health.checks()) == expected


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_an_unapplied_migration(client):
    from django.db.migrations.recorder import MigrationRecorder

    # Committed, as the probe's checks run on connections of their own; put back after.
    recorder = MigrationRecorder(connection)
    latest = max(name for app, name in recorder.applied_migrations() if app == "attendance")
    recorder.record_unapplied("attendance", latest)
    try:
        response = client.get("/readyz")
    finally:
        recorder.record_applied("attendance", latest)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert set(body["failed"]) == {"migrations"}
    assert body["failed"]["migrations"].startswith("RuntimeError: 1 unapplied: attendance.")


def test_readyz_names_every_check_that_fails(client, db, monkeypatch):
    def refuse() -> None:
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr(health, "checks", lambda: {"redis": refuse, "database": lambda: None})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "failed": {"redis": "ConnectionRefusedError: Connection refused"},
    }


def test_a_failing_probe_is_logged_once_per_change_and_never_as_a_request_error(
    client, db, monkeypatch, caplog
):
    state = {"up": False}

    def redis_check() -> None:
        if not state["up"]:
            raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr(health, "checks", lambda: {"redis": redis_check})
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert client.get("/readyz").status_code == 503
        state["up"] = True
        for _ in range(2):
            assert client.get("/readyz").status_code == 200
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("rollcall.ops", "WARNING", "Not ready: redis: ConnectionRefusedError: Connection refused"),
        ("rollcall.ops", "INFO", "Ready again"),
    ]


def test_other_methods_on_a_probe_path_go_through_the_normal_stack(client, db):
    # Only GET and HEAD are probes; a POST meets CSRF and the URLconf like any request.
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code in {403, 404}


def test_a_check_that_hangs_is_given_up_on_and_named(client, db, monkeypatch):
    """A paused service holds its check's thread, not the probe."""
    import threading
    import time

    released = threading.Event()

    def hangs() -> None:
        released.wait(30)

    monkeypatch.setattr(health, "CHECK_SECONDS", 0.2)
    monkeypatch.setattr(health, "checks", lambda: {"database": hangs, "redis": lambda: None})
    started = time.monotonic()
    response = client.get("/readyz")
    took = time.monotonic() - started
    released.set()
    assert response.status_code == 503
    assert response.json()["failed"] == {"database": "no answer within 0.2 s"}
    assert took < 5
