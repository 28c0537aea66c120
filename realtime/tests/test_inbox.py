"""The connection input queue daphne is given (realtime/daphne.py): in order, nothing lost."""

import asyncio

from realtime.daphne import MAX_WAITING_FRAMES, Inbox


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


class Protocol:
    """What the Inbox calls on daphne's WebSocket protocol when a client floods."""

    def __init__(self):
        self.closed_with = []

    def serverClose(self, code=None):
        self.closed_with.append(code)


def _frame(n: int) -> dict:
    return {"type": "websocket.receive", "text": f'{{"type":"join","code":"{n:06d}"}}'}


async def test_a_client_flooding_unread_frames_is_closed_4429_and_its_frames_dropped():
    protocol = Protocol()
    inbox = Inbox(protocol)
    inbox.put_nowait({"type": "websocket.connect"})
    for n in range(MAX_WAITING_FRAMES * 10):
        inbox.put_nowait(_frame(n))
    assert protocol.closed_with == [4429]  # once
    # The disconnect daphne sends next still reaches the application, right behind
    # what it had not read before the frames: nothing of the flood is kept.
    inbox.put_nowait({"type": "websocket.disconnect", "code": 4429})
    assert [(await inbox.get())["type"] for _ in range(inbox.qsize())] == [
        "websocket.connect",
        "websocket.disconnect",
    ]


async def test_frames_up_to_the_limit_wait_in_order_and_nothing_is_closed():
    protocol = Protocol()
    inbox = Inbox(protocol)
    for n in range(MAX_WAITING_FRAMES):
        inbox.put_nowait(_frame(n))
    assert protocol.closed_with == []
    assert [await inbox.get() for _ in range(MAX_WAITING_FRAMES)] == [
        _frame(n) for n in range(MAX_WAITING_FRAMES)
    ]


def test_the_limit_is_at_least_the_flood_limit_an_application_counts():
    from realtime.protocol import JsonSocket

    assert JsonSocket.flood_limit <= MAX_WAITING_FRAMES
