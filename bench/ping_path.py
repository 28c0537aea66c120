"""What the device consumer's own code costs per heartbeat, in one process, no sockets.

A DeviceConsumer, as after a hello and a join, is handed `--pings` ASGI
`websocket.receive` messages carrying {"type": "ping"} within the heartbeat
interval (the half of heartbeats that write nothing), and its pong goes to a
send that only counts. Beside it, a bare function parses the same frame as JSON
and builds the same pong. The difference is what this project's checks,
dispatch and heartbeat bookkeeping add to every ping; the rest of a heartbeat's
cost is the server underneath (bench/stack_floor.py) and, for the other half,
the batched write (realtime_bench.py's idle case prints the database threads'
share). Under daphne the device sockets' pings do not take this way: the frame
layer hands each to the consumer's quick reply (realtime/daphne.py), timed here
too, the same pings called directly.

    python bench/ping_path.py [--pings 200000]
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PING = {"type": "websocket.receive", "text": json.dumps({"type": "ping"})}


async def per_ping(handle, pings: int) -> float:
    """Microseconds per call of `handle(PING)`, after a warm-up."""
    for _ in range(1000):
        await handle(PING)
    started = time.perf_counter()
    for _ in range(pings):
        await handle(PING)
    return (time.perf_counter() - started) / pings * 1e6


async def measure(pings: int) -> dict:
    from django.utils import timezone

    from realtime.device import DeviceConsumer

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        if len(sent) > 1000:
            sent.clear()

    consumer = DeviceConsumer()
    consumer.scope = {"type": "websocket", "path": "/ws/device/"}
    consumer.base_send = send
    consumer.closing = False
    consumer._window_start, consumer._window_count = time.monotonic(), 0
    consumer.flood_limit = 2 * (pings + 1000)  # the flood check runs; it never trips here
    consumer.device = object()  # as after a hello (a ping within the interval never reads it)
    consumer.session_id = 1
    consumer._wrote(timezone.now())
    consumer._writing = None

    ours = await per_ping(consumer.dispatch, pings)
    if sent[-1] != {"type": "websocket.send", "text": '{"type":"pong"}'}:
        raise SystemExit(f"the consumer did not answer with a pong: {sent[-1]!r}")

    async def bare(message: dict) -> None:
        if json.loads(message["text"])["type"] == "ping":
            await send({"type": "websocket.send", "text": json.dumps({"type": "pong"})})

    # The frame layer's way under daphne (realtime/daphne.py, quick replies).
    frame = PING["text"].encode()
    started = time.perf_counter()
    for _ in range(pings):
        if consumer._quick_reply(frame) is None:
            raise SystemExit("the consumer did not give the frame layer a pong")
    quick = (time.perf_counter() - started) / pings * 1e6
    return {"consumer": ours, "quick": quick, "bare": await per_ping(bare, pings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pings", type=int, default=200_000)
    args = parser.parse_args()
    if args.pings < 1:
        parser.error("--pings must be at least 1")

    import django

    django.setup()
    from realtime_bench import python_speed

    result = asyncio.run(measure(args.pings))
    print(f"A 10-million-step Python loop takes {python_speed():.2f} s")
    print(
        f"{args.pings} pings within the interval: the device consumer {result['consumer']:.2f} µs"
        f" each, a bare JSON ping/pong {result['bare']:.2f} µs; ours adds"
        f" {result['consumer'] - result['bare']:.2f} µs, at 500 heartbeats a second"
        f" {(result['consumer'] - result['bare']) * 500 / 1e4:.2f} % of a core"
    )
    print(
        f"The same pings answered by daphne's frame layer (quick replies):"
        f" {result['quick']:.2f} µs each, {result['quick'] * 500 / 1e4:.2f} % of a core"
        " at 500 a second, the frame's read and the pong's write aside"
    )


if __name__ == "__main__":
    main()
