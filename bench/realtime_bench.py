#!/usr/bin/env python3
"""Real-time benchmark: two daphne processes on one Redis and one PostgreSQL.

Devices connect to process A, the lecturer's events socket to process B, so every
count crosses the channel layer. Three cases:

1. latency: N devices (200) join at R joins/s (50). For each count push that
   brings news, the time from sending the newest join it counts to the
   lecturer receiving it (update latency, p50/p99); for each join, the time
   until the lecturer first sees it counted, which includes waiting for the
   next push the 10-a-second limit allows; and count pushes per second;
2. burst: M devices (1,000) join at once; how long until the lecturer's count
   shows all of them, with every join answered and the final count exact;
3. memory: the growth of process A's RSS per 1,000 idle joined sockets;
4. restart: A is killed with those devices joined and started again; how long
   until every device has reconnected and re-attached to its session.

It creates and migrates its own database (rollcall_bench), seeds its own course,
uses only 127.0.0.1, bounds every wait, and stops its servers when it is done.
Run it with `make bench`; see bench/README.md.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"p50_ms": 30, "p99_ms": 100, "burst_s": 5, "mb_per_1000": 90}
COURSE_CODE = "BENCH101"
STARTUP_TIMEOUT = 30
DAPHNE_APP = "config.asgi:application"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/rollcall_bench"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    )
    parser.add_argument("--latency-devices", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="joins per second (case 1)")
    parser.add_argument("--burst-devices", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=60.0, help="limit for each case, s")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="burst: half the devices on each process (default: all on A)",
    )
    args = parser.parse_args()
    for url in (args.database_url, args.redis_url):
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
            parser.error(f"{url}: the benchmark only talks to 127.0.0.1")
    if not urlsplit(args.database_url).scheme.startswith("postgres"):
        parser.error("--database-url must be a PostgreSQL URL")
    if not (1 <= args.latency_devices <= 5000 and 1 <= args.burst_devices <= 5000):
        parser.error("use 1 to 5000 devices")
    if args.rate <= 0:
        parser.error("--rate must be more than 0")
    return args


# --- Services and servers ------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne(env: dict, log_dir: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    port = port or free_port()
    log = (log_dir / f"daphne-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), DAPHNE_APP],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited with {proc.returncode}; see {log.name}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"daphne did not listen on port {port} within {STARTUP_TIMEOUT} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# --- Data (runs in this process, with the same settings as the servers) ------------------


def seed(total: int, state_path: Path):
    from django.contrib.auth import get_user_model

    from attendance.models import Course, Enrollment, Student
    from attendance.tokens import create_api_token
    from realtime.simulator import prepare_devices

    lecturer, _ = get_user_model().objects.get_or_create(username="bench-lecturer")
    course, _ = Course.objects.get_or_create(code=COURSE_CODE, defaults={"title": "Benchmark"})
    course.lecturers.add(lecturer)
    have = set(
        Student.objects.filter(student_number__startswith="B").values_list(
            "student_number", flat=True
        )
    )
    missing = [f"B{i:05d}" for i in range(total) if f"B{i:05d}" not in have]
    Student.objects.bulk_create(
        Student(student_number=n, first_name="Bench", last_name=n) for n in missing
    )
    students = list(
        Student.objects.filter(student_number__startswith="B").order_by("student_number")[:total]
    )
    Enrollment.objects.bulk_create(
        [Enrollment(course=course, student=s) for s in students], ignore_conflicts=True
    )
    started = time.monotonic()
    devices = prepare_devices(students=students, count=total, state_path=state_path)
    print(
        f"Seeded {COURSE_CODE}: {total} students with devices ({time.monotonic() - started:.1f} s)"
    )
    _token, key = create_api_token(user=lecturer, name="bench")
    return course, lecturer, devices, key


def fresh_session(course, lecturer):
    from attendance.models import NetworkSession
    from attendance.sessions import end_session, start_session

    for old in NetworkSession.objects.filter(course=course, is_active=True):
        end_session(session=old, by=lecturer)
    session, _ = start_session(course=course, by=lecturer)
    return session


def end(session, lecturer) -> None:
    from attendance.sessions import end_session

    end_session(session=session, by=lecturer)


def connected_rows(session) -> int:
    from django.db import connection

    from attendance.models import ConnectedDevice

    try:
        return ConnectedDevice.objects.filter(session=session, is_connected=True).count()
    finally:
        connection.close()  # it ran on a worker thread


# --- The clients --------------------------------------------------------------------------


class Lecturer:
    """The lecturer's /ws/events/ socket: records when each session.counts event arrives."""

    def __init__(self, url: str, token: str, session_id: int):
        self.url, self.token, self.session_id = url, token, session_id
        self.counts: list[tuple[float, int]] = []
        self.changed = asyncio.Event()
        self.ws = None
        self.task = None

    async def __aenter__(self):
        from websockets.asyncio.client import connect

        # An allowed Origin: the events socket refuses a connection without one.
        origin = "http://" + urlsplit(self.url).netloc
        self.ws = await connect(
            self.url, origin=origin, proxy=None, compression=None, open_timeout=10
        )
        await self.ws.send(json.dumps({"type": "auth", "token": self.token}))
        self.task = asyncio.create_task(self._read())
        # The snapshot (or an auth reply) shows the socket is subscribed.
        await asyncio.sleep(0.5)
        return self

    async def _read(self):
        async for raw in self.ws:
            now = time.perf_counter()
            event = json.loads(raw)
            if event.get("type") == "session.counts" and event.get("session") == self.session_id:
                self.counts.append((now, int(event["checked_in"])))
                self.changed.set()

    async def wait_for_count(self, count: int, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while True:
            for at, seen in self.counts:
                if seen >= count:
                    return at
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.ws.close()


async def open_devices(url: str, devices, concurrency: int):
    from websockets.exceptions import InvalidHandshake

    from realtime.simulator import DeviceClient

    gate = asyncio.Semaphore(concurrency)

    async def one(creds):
        # Connecting is not what is measured: a handshake that times out on a
        # busy machine is tried again (3 attempts) before the run gives up.
        for attempt in range(3):
            try:
                async with gate:
                    return await DeviceClient.open(url, creds)
            except (OSError, TimeoutError, InvalidHandshake):
                if attempt == 2:
                    raise
                await asyncio.sleep(1 + attempt)

    results = await asyncio.gather(*(one(c) for c in devices), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise SystemExit(f"{len(failed)} devices could not connect: {failed[0]!r}")
    return results


async def close_devices(clients) -> None:
    await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)


async def join(client, code: str, timeout: float) -> tuple[float, float, dict]:
    sent = time.perf_counter()
    reply = await client.join(code=code, timeout=timeout)
    return sent, time.perf_counter(), reply


def percentile(values: list[float], pct: float) -> float:
    from realtime.simulator import percentile as nearest_rank

    return nearest_rank(values, pct)


async def case_latency(args, a_url, b_url, token, devices, session) -> dict:
    clients = await open_devices(a_url, devices, concurrency=50)
    try:
        async with Lecturer(b_url, token, session.pk) as lecturer:
            interval = 1 / args.rate
            start = time.perf_counter()
            tasks = []
            for i, client in enumerate(clients):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(join(client, session.join_code, args.timeout)))
            joins = await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
            bad = [r for _s, _d, r in joins if r.get("type") != "joined"]
            if bad:
                raise SystemExit(f"{len(bad)} joins failed, e.g. {bad[0]}")
            final = await lecturer.wait_for_count(len(clients), args.timeout)
            if final is None:
                raise SystemExit(
                    f"the lecturer never saw {len(clients)} checked in "
                    f"(last: {lecturer.counts[-1:]})"
                )
            # The k-th join the server confirmed is counted by the first push with
            # checked_in >= k (counts only grow here).
            by_confirmation = sorted(joins, key=lambda j: j[1])
            waits = []
            for k, (sent, _done, _reply) in enumerate(by_confirmation, start=1):
                seen = next(at for at, n in lecturer.counts if n >= k)
                waits.append(max(0.0, seen - sent))
            # Each push that brought news, from the newest join it counts.
            updates, shown = [], 0
            for at, n in lecturer.counts:
                if shown < n <= len(by_confirmation) and at <= final:
                    updates.append(max(0.0, at - by_confirmation[n - 1][0]))
                    shown = n
            pushed_at = [at for at, _n in lecturer.counts if at <= final]
            span = pushed_at[-1] - pushed_at[0]
            gaps = [b - a for a, b in itertools.pairwise(pushed_at)]
            replies = [done - sent for sent, done, _r in joins]
            return {
                "reply_p50_ms": percentile(replies, 50) * 1000,
                "reply_p99_ms": percentile(replies, 99) * 1000,
                "p50_ms": percentile(updates, 50) * 1000,
                "p99_ms": percentile(updates, 99) * 1000,
                "wait_p50_ms": percentile(waits, 50) * 1000,
                "wait_p99_ms": percentile(waits, 99) * 1000,
                # Pushes per second over the intervals between them.
                "pushes_per_s": len(gaps) / span if span > 0 else 0.0,
                "pushes": len(pushed_at),
                "min_gap_ms": min(gaps) * 1000 if gaps else None,
                "span_s": span,
            }
    finally:
        await close_devices(clients)


async def case_burst(args, a_url, b_url, token, devices, session, server_pid) -> dict:
    before = rss_mb(server_pid)
    on_a = devices[::2] if args.spread else devices
    clients = await open_devices(a_url, on_a, concurrency=100)
    if args.spread:
        # The other half on B, as a load balancer in front of both would place them.
        clients += await open_devices(
            b_url.replace("/ws/events/", "/ws/device/"), devices[1::2], 100
        )
    try:
        async with Lecturer(b_url, token, session.pk) as lecturer:
            start = time.perf_counter()
            joins = await asyncio.wait_for(
                asyncio.gather(*(join(c, session.join_code, args.timeout) for c in clients)),
                args.timeout,
            )
            answered = sum(1 for _s, _d, r in joins if r.get("type") == "joined")
            final = await lecturer.wait_for_count(len(clients), args.timeout)
            await asyncio.sleep(1.5)  # later pushes would show an overcount
            last = lecturer.counts[-1][1] if lecturer.counts else 0
            rows = await asyncio.to_thread(connected_rows, session)
            # Idle joined sockets: let the process settle before reading its RSS.
            await asyncio.sleep(3)
            after = rss_mb(server_pid)
            return {
                "answered": answered,
                "counted_s": (final - start) if final else None,
                "final_count": last,
                "rows": rows,
                "reply_p50_ms": percentile([d - s for s, d, _r in joins], 50) * 1000,
                "pushes": len(lecturer.counts),
                "rss_before_mb": before,
                "rss_after_mb": after,
                "mb_per_1000": (after - before) * 1000 / len(on_a),
                "on_a": len(on_a),
            }
    finally:
        await close_devices(clients)


async def case_restart(args, a_url, devices, session, restart) -> dict:
    """Devices joined on A; A is killed and started again; every device reconnects at once."""
    clients = await open_devices(a_url, devices, concurrency=100)
    joins = await asyncio.wait_for(
        asyncio.gather(*(c.join(code=session.join_code, timeout=args.timeout) for c in clients)),
        args.timeout,
    )
    if any(r.get("type") != "joined" for r in joins):
        raise SystemExit("restart case: not every device joined before the restart")
    # SIGKILL: no disconnect() runs, as when a server crashes or is killed.
    await asyncio.to_thread(restart)
    for client in clients:
        client.ws.transport.abort()

    gate = asyncio.Semaphore(100)

    async def reconnect(creds):
        from realtime.simulator import DeviceClient

        sent = time.perf_counter()
        async with gate:
            client = await DeviceClient.open(a_url, creds)
        reply = await client.join(session=session.pk, timeout=args.timeout)
        return client, reply, time.perf_counter() - sent

    start = time.perf_counter()
    results = await asyncio.wait_for(
        asyncio.gather(*(reconnect(c) for c in devices), return_exceptions=True), args.timeout
    )
    took = time.perf_counter() - start
    back = [r for r in results if not isinstance(r, BaseException)]
    try:
        rejoined = sum(1 for _c, reply, _t in back if reply.get("type") == "joined")
        rows = await asyncio.to_thread(connected_rows, session)
        return {
            "rejoined": rejoined,
            "failed": len(results) - len(back),
            "took_s": took,
            "p50_ms": percentile([t for _c, _r, t in back], 50) * 1000 if back else None,
            "rows": rows,
        }
    finally:
        await close_devices([c for c, _r, _t in back])


# --- Main -----------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    prefix = f"bench{os.getpid()}x{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        # Pub/sub ignores Redis DB numbers: a per-run prefix keeps runs apart.
        "CHANNEL_LAYER_PREFIX": prefix,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ATTENDANCE_CODE_ROTATE_SECONDS": "0",
        "ATTENDANCE_IN_PROCESS_SWEEP": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log_dir = ROOT / "artifacts" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    env["LOG_DIR"] = str(log_dir)
    os.environ.update(env)

    ensure_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    import django

    django.setup()
    from django.conf import settings

    total = max(args.latency_devices, args.burst_devices)
    course, lecturer, devices, token = seed(total, log_dir / "devices.json")
    print(f"Channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']} (prefix {prefix})")

    servers = [start_daphne(env, log_dir) for _ in range(2)]
    (proc_a, port_a), (_proc_b, port_b) = servers
    a_device = f"ws://127.0.0.1:{port_a}/ws/device/"
    b_events = f"ws://127.0.0.1:{port_b}/ws/events/"
    print(f"Servers: A (devices) on :{port_a}, B (lecturer) on :{port_b}")
    try:
        session = fresh_session(course, lecturer)
        lat = asyncio.run(
            case_latency(args, a_device, b_events, token, devices[: args.latency_devices], session)
        )
        end(session, lecturer)
        print(
            f"\n1. Join -> lecturer update, {args.latency_devices} devices"
            f" at {args.rate:g} joins/s:"
            f"\n   update latency p50 {lat['p50_ms']:.1f} ms (target <= {TARGETS['p50_ms']}),"
            f" p99 {lat['p99_ms']:.1f} ms (target <= {TARGETS['p99_ms']});"
            f"\n   {lat['pushes']} count pushes over {lat['span_s']:.1f} s ="
            f" {lat['pushes_per_s']:.1f} pushes/s for the session"
            f" (closest two {lat['min_gap_ms'] or 0:.0f} ms apart);"
            f"\n   each join's wait until counted p50 {lat['wait_p50_ms']:.1f} ms,"
            f" p99 {lat['wait_p99_ms']:.1f} ms (at most 10 pushes/s: a join"
            f" waits for the next one);"
            f"\n   (join -> joined reply p50 {lat['reply_p50_ms']:.1f} ms,"
            f" p99 {lat['reply_p99_ms']:.1f} ms)"
        )

        session = fresh_session(course, lecturer)
        burst = asyncio.run(
            case_burst(
                args, a_device, b_events, token, devices[: args.burst_devices], session, proc_a.pid
            )
        )
        rows = burst["rows"]
        end(session, lecturer)
        n = args.burst_devices
        counted = f"{burst['counted_s']:.2f} s" if burst["counted_s"] is not None else "never"
        exact = burst["answered"] == n and burst["final_count"] == n and rows == n
        print(
            f"\n2. Burst of {n} joins at once{' (half on each process)' if args.spread else ''}:"
            f" all counted after {counted}"
            f" (target <= {TARGETS['burst_s']} s);"
            f"\n   joins answered {burst['answered']}/{n},"
            f" final pushed count {burst['final_count']},"
            f" connected rows {rows}: {'exact, none dropped' if exact else 'NOT EXACT'};"
            f" {burst['pushes']} pushes; join -> joined reply p50 {burst['reply_p50_ms']:.0f} ms"
        )
        print(
            f"\n3. Memory of process A: {burst['rss_before_mb']:.0f} MB ->"
            f" {burst['rss_after_mb']:.0f} MB with {burst['on_a']} idle joined sockets ="
            f" {burst['mb_per_1000']:.1f} MB per 1,000 (target <= {TARGETS['mb_per_1000']})"
        )
        session = fresh_session(course, lecturer)

        def restart():
            proc_a, port = servers[0]
            proc_a.kill()
            proc_a.wait(10)
            servers[0] = start_daphne(env, log_dir, port=port)

        again = asyncio.run(
            case_restart(args, a_device, devices[: args.burst_devices], session, restart)
        )
        end(session, lecturer)
        print(
            f"\n4. Restart: process A killed with {n} devices joined, started again;"
            f" all reconnecting at once:"
            f"\n   {again['rejoined']}/{n} re-attached to their session in {again['took_s']:.2f} s"
            f" (connect, hello and join by session; p50 {again['p50_ms'] or 0:.0f} ms),"
            f" {again['failed']} failed; connected rows {again['rows']}"
        )
        ok = (
            lat["p50_ms"] <= TARGETS["p50_ms"]
            and lat["p99_ms"] <= TARGETS["p99_ms"]
            and burst["counted_s"] is not None
            and burst["counted_s"] <= TARGETS["burst_s"]
            and exact
            and burst["mb_per_1000"] <= TARGETS["mb_per_1000"]
        )
        print(f"\nAll targets met: {'yes' if ok else 'no'}")
        return 0 if exact and again["rejoined"] == n else 1
    finally:
        for proc, _port in servers:
            proc.terminate()
        for proc, _port in servers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    try:
        sys.exit(main())
    except (ConnectionClosed, InvalidStatus) as exc:
        sys.exit(f"A socket was refused or closed by the server: {exc}")
    except KeyboardInterrupt:
        sys.exit("Interrupted; the servers were stopped.")
