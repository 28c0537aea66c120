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
