"""What a heartbeat costs the servers underneath ours, without our code.

One server process answers the heartbeats of N idle sockets (`--devices`, 10,000, each
sending {"type": "heartbeat"} every `--heartbeat` seconds from a random moment, from a
client process of their own), and the bench reads its CPU over `--seconds` (60) from
/proc, as realtime_bench.py's idle case does. No database, no channel layer, no
authentication: each frame is parsed as JSON and answered with {"type": "pong"}. Servers
(`--servers`, all by default):

- daphne:     daphne serving a bare ASGI app, as installed;
- tuned:      the same with this project's daphne changes (realtime/daphne.py);
- quick:      tuned daphne with heartbeats answered by its frame layer, as the
              device sockets' pings are (realtime/daphne.py, quick replies);
- channels:   tuned daphne serving a minimal Channels AsyncJsonWebsocketConsumer;
- websockets: the `websockets` library's own asyncio server;
- asyncio:    no WebSocket library at all: an asyncio Protocol that answers the
              handshake and then reads each heartbeat as the one small masked frame
              it is. Not a server anyone should run: the least any Python server on
              asyncio's default loop can spend per heartbeat on this machine when
              the loop wakes for each one (the wake-up, a recv and a send). The
              tuned servers pace their wake-ups (realtime/daphne.py) and read
              several heartbeats per wake, so they can spend less.

The difference between these figures and realtime_bench.py's idle case is what this
project's own work per heartbeat costs; the figure for `channels` is the floor any
consumer of this stack starts from.

    python bench/stack_floor.py [--devices 10000] [--heartbeat 20] [--seconds 60]
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from realtime_bench import cpu_split, free_port, python_speed, quiet_collector, rss_mb

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("daphne", "tuned", "quick", "channels", "websockets", "asyncio")
PONG = json.dumps({"type": "pong"})
PONG_BYTES = PONG.encode()
HEARTBEATS = frozenset({b'{"type": "heartbeat"}', b'{"type":"heartbeat"}'})


# --- The servers' applications (imported by daphne from this file) --------------------


def _configure_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(CHANNEL_LAYERS={}, INSTALLED_APPS=[], USE_TZ=True)
        django.setup()


async def bare_app(scope, receive, send) -> None:
    """A raw ASGI WebSocket app: accept, answer every text frame, until disconnect."""
    if scope["type"] != "websocket":
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            if json.loads(event.get("text") or "{}").get("type") == "heartbeat":
                await send({"type": "websocket.send", "text": PONG})
        else:
            return


def _tuned_app():
    _configure_django()
    from realtime.daphne import install

    install()
    return bare_app


async def quick_bare_app(scope, receive, send) -> None:
    """bare_app, handing daphne's frame layer a quick reply for heartbeats (realtime/daphne.py)."""
    if scope["type"] == "websocket":
        from realtime.daphne import QUICK_REPLIES

        scope[QUICK_REPLIES](lambda payload: PONG_BYTES if payload in HEARTBEATS else None)
    await bare_app(scope, receive, send)


def _quick_app():
    _tuned_app()
    return quick_bare_app


def _channels_app():
    _configure_django()
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    from realtime.daphne import install

    class Heartbeats(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content, **kwargs) -> None:
            if isinstance(content, dict) and content.get("type") == "heartbeat":
                await self.send_json({"type": "pong"})

    install()
    return Heartbeats.as_asgi()


# daphne imports these by name; each builds its app only when daphne asks for it.
def __getattr__(name: str):
    if name == "tuned_app":
        return _tuned_app()
    if name == "quick_app":
        return _quick_app()
    if name == "channels_app":
        return _channels_app()
    raise AttributeError(name)


async def _websockets_server(port: int) -> None:
    from websockets.asyncio.server import serve

    async def answer(ws) -> None:
        async for message in ws:
            if json.loads(message).get("type") == "heartbeat":
                await ws.send(PONG)

    async with serve(answer, "127.0.0.1", port, backlog=4096, compression=None):
        await asyncio.get_running_loop().create_future()


WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PONG_FRAME = bytes([0x81, len(PONG)]) + PONG.encode()


class _BareProtocol(asyncio.Protocol):
    """The handshake, then one whole masked text frame under 126 bytes per read."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.handshake = b""

    def data_received(self, data: bytes) -> None:
        if self.handshake is not None:
            self.handshake += data
            if b"\r\n\r\n" in self.handshake:
                self._accept()
            return
        length, mask = data[1] & 0x7F, data[2:6]
        text = bytes(byte ^ mask[i & 3] for i, byte in enumerate(data[6 : 6 + length]))
        if json.loads(text).get("type") == "heartbeat":
            self.transport.write(PONG_FRAME)

    def _accept(self) -> None:
        headers = dict(
            line.split(b":", 1) for line in self.handshake.split(b"\r\n")[1:] if b":" in line
        )
        key = next(v.strip() for k, v in headers.items() if k.lower() == b"sec-websocket-key")
        accept = base64.b64encode(
            hashlib.sha1(key + WEBSOCKET_GUID, usedforsecurity=False).digest()
        )
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.handshake = None


async def _asyncio_server(port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(_BareProtocol, "127.0.0.1", port, backlog=4096)
    await loop.create_future()


# --- The clients ---------------------------------------------------------------------------


async def _devices(port: int, n: int, heartbeat: float, seconds: float) -> None:
    from websockets.asyncio.client import connect

    answered = 0
    ready = asyncio.Event()
    opened = 0

    async def device() -> None:
        nonlocal answered, opened
        for attempt in range(20):
            try:
                ws = await connect(
                    f"ws://127.0.0.1:{port}/", compression=None, open_timeout=30, ping_interval=None
                )
                break
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            raise SystemExit("a device could not connect")
        opened += 1
        if opened == n:
            ready.set()
        await ready.wait()
        await asyncio.sleep(random.uniform(0, heartbeat))
        async with ws:
            while True:
                await ws.send('{"type":"heartbeat"}')
                await ws.recv()
                answered += 1
                await asyncio.sleep(heartbeat)

    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(device()))
        await asyncio.sleep(0.0005)
    await ready.wait()
    # As realtime_bench.py's devices: the clients' full collections must not make
    # heartbeats late or bunch them up.
    quiet_collector()
    print("connected", flush=True)
    await asyncio.sleep(heartbeat + seconds + 5)
    print(f"answered {answered}", flush=True)
    for task in tasks:
        task.cancel()


# --- The measurement -----------------------------------------------------------------------


def _start_server(kind: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"}
    if kind in ("websockets", "asyncio"):
        command = [sys.executable, __file__, f"--serve-{kind}", str(port)]
    else:
        app = {
            "daphne": "bare_app",
            "tuned": "tuned_app",
            "quick": "quick_app",
            "channels": "channels_app",
        }[kind]
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        command.append(f"stack_floor:{app}")
    # Daphne's access log (a line per socket opened and closed) goes where the bench's does.
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{kind} exited with {proc.returncode}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{kind} did not listen within 30 s")


def measure(kind: str, args: argparse.Namespace) -> None:
    port = free_port()
    server = _start_server(kind, port)
    clients = None
    try:
        before = rss_mb(server.pid)
        clients = subprocess.Popen(
            [sys.executable, __file__, "--clients", str(port)]
            + [
                str(value)
                for value in (args.devices, args.heartbeat, args.seconds, args.devices_nice)
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        if clients.stdout.readline().strip() != "connected":
            raise SystemExit(f"{kind}: the devices did not connect")
        time.sleep(args.heartbeat)  # every device has sent its first heartbeat
        (user, system), wall = cpu_split(server.pid), time.monotonic()
        time.sleep(args.seconds)
        (user_after, system_after), wall = cpu_split(server.pid), time.monotonic() - wall
        user, system = user_after - user, system_after - system
        cpu = user + system
        rss = rss_mb(server.pid)
        answered = clients.stdout.readline().strip()
        rate = args.devices / args.heartbeat
        print(
            f"{kind:<11} CPU {100 * cpu / wall:5.1f} % of a core at {rate:.0f} heartbeats/s "
            f"({1e6 * cpu / wall / rate:.0f} µs each; user {100 * user / wall:.1f} %, "
            f"system {100 * system / wall:.1f} %), "
            f"RSS {1000 * (rss - before) / args.devices:.1f} MB per 1,000 sockets; {answered}",
            flush=True,
        )
    finally:
        for proc in (clients, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def main() -> None:
    if sys.argv[1:2] == ["--serve-websockets"]:
        asyncio.run(_websockets_server(int(sys.argv[2])))
        return
    if sys.argv[1:2] == ["--serve-asyncio"]:
        asyncio.run(_asyncio_server(int(sys.argv[2])))
        return
    if sys.argv[1:2] == ["--clients"]:
        port, n, heartbeat, seconds, nice = sys.argv[2:7]
        os.nice(int(nice))
        asyncio.run(_devices(int(port), int(n), float(heartbeat), float(seconds)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--heartbeat", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument(
        "--devices-nice",
        type=int,
        default=10,
        help="the devices' process's niceness, 0-19, as realtime_bench.py's (default 10)",
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    if unknown := set(kinds) - set(SERVERS):
        parser.error(f"unknown server(s) {', '.join(sorted(unknown))}; use {', '.join(SERVERS)}")
    if not 0 <= args.devices_nice <= 19:
        parser.error("--devices-nice takes 0 to 19")
    if not 1 <= args.devices <= 12000 or args.heartbeat <= 0 or args.seconds <= 0:
        parser.error("use 1 to 12,000 devices, and a heartbeat and a window of more than 0 s")
    speed = python_speed()
    print(
        f"Machine: {os.cpu_count()} CPUs; a 10-million-step Python loop takes {speed:.2f} s;"
        f" the devices' process at nice {args.devices_nice}"
    )
    for kind in kinds:
        measure(kind, args)


if __name__ == "__main__":
    main()
