"""Batches of sockets' database calls: one bad request fails alone."""

import asyncio
import time

import pytest
from django.db import OperationalError

from realtime.batching import Batcher

pytestmark = pytest.mark.django_db(transaction=True)


def _upper_unless_bad(calls: list):
    def run(requests: list[str]) -> list[str]:
        calls.append(list(requests))
        if "bad" in requests:
            raise ValueError("a request no batch can run")
        if "down" in requests:
            raise OperationalError("connection refused")
        return [request.upper() for request in requests]

    return run


async def _all(batcher: Batcher, requests: list[str]) -> list:
    return await asyncio.gather(*(batcher(r) for r in requests), return_exceptions=True)


async def test_a_request_that_fails_its_batch_fails_alone():
    calls: list = []
    results = await _all(Batcher(_upper_unless_bad(calls), parallel=1), ["a", "bad", "c"])
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    # The batch, then each request on its own.
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]


async def test_a_database_out_of_reach_fails_the_whole_batch_at_once():
    calls: list = []
    results = await _all(Batcher(_upper_unless_bad(calls), parallel=1), ["a", "down", "c"])
    assert [type(r) for r in results] == [OperationalError] * 3
    assert calls == [["a", "down", "c"]]


def _depth(exc: BaseException) -> int:
    depth, tb = 0, exc.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


async def test_callers_of_one_failure_each_raise_it_with_a_traceback_of_their_own():
    # Re-raised as it was, one exception shared by many callers grew a frame
    # chain with every raise: a log entry of hundreds of lines per socket.
    calls: list = []
    batcher = Batcher(_upper_unless_bad(calls), parallel=1)
    [two, _] = await _all(batcher, ["down", "x"])
    [eight, *_] = await _all(batcher, ["down", *"abcdefg"])
    assert two is not eight
    assert _depth(two) == _depth(eight)


async def test_what_arrives_while_a_lingering_batch_runs_waits_for_company_too():
    # Heartbeats linger for company; one arriving while a batch was in the database
    # went next in a batch of its own: three or four statements for one device.
    calls: list = []

    def slow(requests: list[str]) -> list[str]:
        calls.append(list(requests))
        time.sleep(0.4)
        return [request.upper() for request in requests]

    batcher = Batcher(slow, parallel=1, linger=0.6)
    started = time.monotonic()

    async def at(seconds: float, request: str) -> str:
        await asyncio.sleep(seconds - (time.monotonic() - started))
        return await batcher(request)

    # "a" runs from 0.6 s to 1.0 s; "b" arrives meanwhile, "c" just after.
    results = await asyncio.gather(at(0, "a"), at(0.8, "b"), at(1.25, "c"))
    assert results == ["A", "B", "C"]
    assert calls == [["a"], ["b", "c"]]


async def test_posted_requests_are_delivered_and_their_round_ends_after_the_last():
    calls: list = []
    batcher = Batcher(_upper_unless_bad(calls), parallel=1)
    delivered: list = []

    def broken(result) -> None:
        delivered.append(("broken", result))
        raise RuntimeError("a socket's handler failing")

    rounds = [
        batcher.post("a", lambda result: delivered.append(("a", result))),
        batcher.post("b", broken),
        batcher.post("c", lambda result: delivered.append(("c", result))),
    ]
    assert rounds[0] is rounds[1] is rounds[2]
    assert not rounds[0].done()
    await rounds[0]
    # Every result delivered before the round ends, one handler's failure notwithstanding.
    assert delivered == [("a", "A"), ("broken", "B"), ("c", "C")]
    assert calls == [["a", "b", "c"]]
    # A later request starts a round of its own.
    later = batcher.post("d", lambda result: delivered.append(("d", result)))
    assert later is not rounds[0]
    await later
    assert delivered[-1] == ("d", "D")
