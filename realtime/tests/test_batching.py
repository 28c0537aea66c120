"""Batches of sockets' database calls: one bad request fails alone."""

import asyncio

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
