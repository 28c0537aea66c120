"""Prometheus metrics: who may read them, and the database pool's figures.

Each process keeps its own figures in prometheus_client's default registry
and exposes them itself (the web processes at /metrics, the sweeper on
`cleanup_sessions --metrics-port`): Prometheus scrapes every process, so no
figure is shared between processes or lost when one restarts.

Metrics are defined next to the code they measure: attendance/metrics.py
(the sweep), outbox/metrics.py (mail), accounts/metrics.py (interrupted web
sessions), realtime/metrics.py (sockets and pushes), HTTP latency per view by
django-prometheus, and the database pool below.
"""

import hmac
import ipaddress

from django.conf import settings
from django.db import connections
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def may_read_metrics(*, remote_addr: str | None, authorization: str | None) -> bool:
    """From an allowed network (METRICS_ALLOWED_NETWORKS), or with the bearer METRICS_TOKEN."""
    token = settings.METRICS_TOKEN
    if token and authorization:
        scheme, _, given = authorization.partition(" ")
        # Constant time, so the token cannot be guessed a character at a time.
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    try:
        address = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS]


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    return generate_latest(registry)


class DatabasePoolCollector(Collector):
    """psycopg_pool's own counters, read at each scrape (PostgreSQL with a pool only).

    `requests_waiting` is how many borrowers wait for a connection right now;
    the queued and wait-time counters say how often and how long they waited
    since the process started; timeouts are borrowers that gave up.
    """

    GAUGES = {
        "size": ("pool_size", "Connections the pool holds now."),
        "available": ("pool_available", "Idle connections in the pool now."),
        "max": ("pool_max", "The most connections the pool may open."),
        "requests_waiting": ("requests_waiting", "Borrowers waiting for a connection now."),
    }
    COUNTERS = {
        "requests": ("requests_num", "Connections borrowed from the pool."),
        "requests_queued": ("requests_queued", "Borrows that had to wait for a connection."),
        "timeouts": ("requests_errors", "Borrows that gave up waiting (timeouts)."),
    }

    def _families(self) -> dict:
        families = {
            name: GaugeMetricFamily(f"rollcall_db_pool_{name}", doc, labels=["alias"])
            for name, (_, doc) in self.GAUGES.items()
        }
        for name, (_, doc) in self.COUNTERS.items():
            families[name] = CounterMetricFamily(f"rollcall_db_pool_{name}", doc, labels=["alias"])
        families["wait_seconds"] = CounterMetricFamily(
            "rollcall_db_pool_wait_seconds",
            "Seconds borrowers spent waiting for a connection.",
            labels=["alias"],
        )
        return families

    def describe(self):
        # Registration asks for the names only: no pool is opened before the
        # settings (or a test run's database) are final.
        yield from self._families().values()

    def collect(self):
        families = self._families()
        for alias, stats in pool_stats().items():
            for name, (key, _) in {**self.GAUGES, **self.COUNTERS}.items():
                families[name].add_metric([alias], stats.get(key, 0))
            families["wait_seconds"].add_metric([alias], stats.get("requests_wait_ms", 0) / 1000)
        yield from families.values()


def pool_stats() -> dict[str, dict[str, int]]:
    found = {}
    for alias in connections:
        database = settings.DATABASES[alias]
        if database["ENGINE"] != "django.db.backends.postgresql":
            continue
        if not database.get("OPTIONS", {}).get("pool"):
            continue
        found[alias] = connections[alias].pool.get_stats()
    return found


_collector: DatabasePoolCollector | None = None


def register_pool_collector() -> None:
    global _collector
    if _collector is None:
        _collector = DatabasePoolCollector()
        REGISTRY.register(_collector)
