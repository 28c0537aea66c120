"""/metrics: each process's own figures, for allowed networks or the bearer token only."""

import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from prometheus_client import REGISTRY, Counter

from accounts.middleware import session_interrupted_response
from attendance.models import NetworkSession
from attendance.sessions import start_session
from attendance.sweeper import sweep_once
from ops import exporter
from outbox.delivery import drain
from outbox.mail import enqueue

OUTSIDER = "203.0.113.9"


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def value(text: str, sample: str) -> float:
    """The value of one sample line (`name{labels}`) in an exposition."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} is not exposed")


def test_metrics_answer_the_local_network_by_default(client, db):
    text = scrape(client)
    assert "rollcall_sweep_last_success_age_seconds" in text
    assert "rollcall_outbox_sent_total" in text
    assert "rollcall_web_sessions_interrupted_total" in text


def test_metrics_refuse_another_network_without_a_token(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER)
    assert response.status_code == 403
    assert b"rollcall_" not in response.content


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-token", "Token s3cret-metrics-token", "Bearer", "s3cret-metrics-token"],
)
def test_metrics_refuse_a_wrong_or_malformed_token(client, db, settings, authorization):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 403


def test_metrics_answer_the_bearer_token_from_anywhere(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    scrape(client, REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")


def test_without_a_configured_token_no_bearer_opens_them(client, db, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_an_allowed_network_is_a_cidr_range(client, db, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    scrape(client, REMOTE_ADDR=OUTSIDER)
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is no longer in the list
    assert client.get("/metrics", REMOTE_ADDR="::ffff:203.0.113.7").status_code == 200


def test_the_default_registry_is_exported_so_every_apps_metrics_appear(client, db):
    # realtime/metrics.py and any other module register in prometheus_client's default registry.
    probe = Counter("rollcall_test_probe", "A metric a test registers.")
    try:
        probe.inc(3)
        assert value(scrape(client), "rollcall_test_probe_total") == 3
    finally:
        REGISTRY.unregister(probe)


def test_http_latency_is_recorded_per_view(client, db):
    client.get("/login/")
    text = scrape(client)
    sample = 'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="login"}'
    assert value(text, sample) >= 1


def test_a_sweep_counts_the_sessions_it_ended_and_its_success(
    client, transactional_db, course, lecturer
):
    # The sweep closes its connections, as the sweeper process does: no test transaction.
    before = scrape(client)
    session, _ = start_session(course=course, by=lecturer)
    NetworkSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(hours=5)
    )
    sweep_once()
    after = scrape(client)
    ended = 'rollcall_sweep_sessions_ended_total{reason="expired"}'
    assert value(after, ended) == value(before, ended) + 1
    assert value(after, "rollcall_sweep_last_success_age_seconds") < 60
    assert value(after, "rollcall_sweep_last_success_timestamp_seconds") > 0


def test_outbox_sends_and_failures_are_counted(client, db, settings):
    before = scrape(client)
    enqueue(key="metrics-1", to=["a@example.org"], subject="Hello", text="Hi")
    drain()
    assert len(mail.outbox) == 1
    settings.OUTBOX_DELIVERY_BACKEND = "outbox.tests.backends.RefusingBackend"
    enqueue(key="metrics-2", to=["b@example.org"], subject="Hello", text="Hi")
    drain()
    after = scrape(client)
    assert (
        value(after, "rollcall_outbox_sent_total")
        == value(before, "rollcall_outbox_sent_total") + 1
    )
    assert (
        value(after, "rollcall_outbox_send_errors_total")
        == value(before, "rollcall_outbox_send_errors_total") + 1
    )


def test_interrupted_web_sessions_are_counted(client, db):
    before = value(scrape(client), "rollcall_web_sessions_interrupted_total")
    session_interrupted_response(RequestFactory().get("/sessions/"))
    after = value(scrape(client), "rollcall_web_sessions_interrupted_total")
    assert after == before + 1


@pytest.mark.postgres
def test_the_database_pool_reports_its_size_and_waits(client, db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    text = scrape(client)
    assert value(text, 'rollcall_db_pool_max{alias="default"}') >= 1
    for name in ("requests_waiting", "size", "available"):
        value(text, f'rollcall_db_pool_{name}{{alias="default"}}')
    for name in ("requests_queued_total", "wait_seconds_total", "timeouts_total"):
        value(text, f'rollcall_db_pool_{name}{{alias="default"}}')


def test_the_sweepers_exporter_serves_the_same_rule(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    server = exporter.start(host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 403
        request = urllib.request.Request(
            url, headers={"Authorization": "Bearer s3cret-metrics-token"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert b"rollcall_sweep_last_success_age_seconds" in response.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=5)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
