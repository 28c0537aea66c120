"""Sockets' database calls: side by side on PostgreSQL, one at a time on SQLite."""

import asyncio
import threading

import pytest
from django.db import connection, connections

from attendance.models import Course
from realtime.db import db_call


def _meet(barrier: threading.Barrier) -> str:
    barrier.wait()
    return threading.current_thread().name


@pytest.mark.postgres
async def test_two_calls_run_at_once_on_postgresql():
    # Each call waits for the other: they finish only if they run side by side.
    barrier = threading.Barrier(2, timeout=5)
    names = await asyncio.gather(db_call(_meet)(barrier), db_call(_meet)(barrier))
    assert len(set(names)) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_a_call_hands_its_connection_back_to_the_pool(monkeypatch):
    # As under channels' test communicator, which turns its clean-up off.
    monkeypatch.setattr("channels.db.close_old_connections", lambda **kwargs: None)

    def query_and_report() -> object:
        Course.objects.count()
        return connection.connection

    def checked_out() -> int:
        stats = connection.pool.get_stats()
        return stats["pool_size"] - stats["pool_available"]

    before = checked_out()  # the test's own connection, if it has one
    used = await db_call(query_and_report)()
    assert used is not None
    # The worker thread's connection is back in the pool, idle.
    assert checked_out() == before


@pytest.mark.django_db(transaction=True)
async def test_calls_keep_to_one_thread_on_sqlite(monkeypatch):
    # The choice is made by vendor; pin it so both CI passes check the SQLite path.
    monkeypatch.setattr(type(connections["default"]), "vendor", "sqlite")

    def name() -> str:
        return threading.current_thread().name

    first, second = await db_call(name)(), await db_call(name)()
    assert first == second


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_the_server_dropped_is_replaced_not_lent():
    """After PostgreSQL restarts, its old connections are dead in the pool: the pool
    checks each before lending it (CONN_HEALTH_CHECKS), so the next query works."""
    import psycopg

    Course.objects.count()
    connection.close()  # back to the pool, idle
    assert connection.pool.get_stats()["pool_available"] >= 1
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        # What a restart does to every idle connection of the pool.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [settings_dict["NAME"]],
        )
    assert Course.objects.count() == 0
