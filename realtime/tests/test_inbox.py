"""The connection input queue daphne is given (realtime/daphne.py): in order, nothing lost."""

import asyncio

from realtime.daphne import Inbox


async def test_messages_put_before_anyone_waits_come_out_in_order():
    inbox = Inbox()
    for n in range(3):
        inbox.put_nowait(n)
    assert inbox.qsize() == 3
    assert [await inbox.get() for _ in range(3)] == [0, 1, 2]
    assert inbox.qsize() == 0


async def test_a_waiting_reader_gets_the_next_message_and_later_ones_queue_behind_it():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("connect")
    inbox.put_nowait("receive")  # before the reader has run again
    assert await reader == "connect"
    assert await inbox.get() == "receive"


async def test_a_cancelled_read_loses_no_message():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.sleep(0)
    inbox.put_nowait("disconnect")
    assert await asyncio.wait_for(inbox.get(), 1) == "disconnect"
