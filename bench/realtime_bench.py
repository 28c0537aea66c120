#!/usr/bin/env python3
"""Real-time benchmark: two daphne processes on one Redis and one PostgreSQL.

The lecturer's events socket is on process B, so every count crosses the
channel layer. Five cases, each against a goal (bench/README.md):

1. idle: 10,000 devices joined on process A, each sending a heartbeat every
   20 s: A's memory per 1,000 sockets, the presence rows written per device per
   heartbeat interval, and A's CPU, over a minute;
2. latency: meanwhile 1,000 more devices join on A at 200 joins/s: for each
   count push that brings news, the time from sending the newest join it
   counts to the lecturer receiving it (update latency, p50/p99), and each
   join's wait until counted;
3. bursts: 5,000 and then 10,000 devices, half on each process, join at once:
   how long until the lecturer's count shows all, with every join answered
   and the final count exact;
4. classes: 100 classes of 50 start at once, each device joining its own
   class's session: how long until every class's count is complete, and exact;
5. restart: 5,000 devices joined on A; A gets SIGTERM (a deploy), closes them
   with 1012 and is started again; the devices come back with jitter and
   resume their session: how long until all are re-attached.

It creates and migrates its own database, seeds its own course, uses only
127.0.0.1, bounds every wait, and stops its servers when it is done.
Run it with `make bench`; see bench/README.md.
"""

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {
    "p50_ms": 30,
    "p99_ms": 100,
    "burst_s": {5000: 5.0, 10000: 10.0},
    "restart_s": 10.0,
    "mb_per_1000": 25.0,
    "writes_per_interval": 1.0,
    "cpu_pct": 5.0,
}
COURSE_CODE = "BENCH101"
CLASS_PREFIX = "BENCH-C"  # the classes case's courses
STARTUP_TIMEOUT = 30
DAPHNE_APP = "config.asgi:application"
CASES = ("idle", "burst", "classes", "restart")


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
    parser.add_argument("--idle-devices", type=int, default=10000)
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="the CPU window, s")
    parser.add_argument("--heartbeat", type=int, default=20, help="heartbeat interval, s")
    parser.add_argument("--latency-devices", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="joins per second (case 2)")
    parser.add_argument(
        "--bursts", default="5000,10000", help="comma-separated burst sizes (case 3)"
    )
    parser.add_argument(
        "--classes", type=int, default=100, help="classes starting at once (case 4)"
    )
    parser.add_argument("--class-size", type=int, default=50, help="devices per class (case 4)")
    parser.add_argument("--restart-devices", type=int, default=5000)
    parser.add_argument(
        "--devices-nice",
        type=int,
        default=10,
        help="the idle devices' process's niceness, 0-19 (default 10; 0: the servers' own)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="limit for each step, s")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"which cases to run, of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="bursts: every device on A (default: half on each process)",
    )
    args = parser.parse_args()
    for url in (args.database_url, args.redis_url):
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
            parser.error(f"{url}: the benchmark only talks to 127.0.0.1")
    if not urlsplit(args.database_url).scheme.startswith("postgres"):
        parser.error("--database-url must be a PostgreSQL URL")
    try:
        args.bursts = [int(n) for n in args.bursts.split(",") if n.strip()]
    except ValueError:
        parser.error("--bursts takes numbers separated by commas, e.g. 5000,10000")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if unknown := set(args.cases) - set(CASES):
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; use {', '.join(CASES)}")
    if not (1 <= args.classes <= 500 and args.class_size >= 1):
        parser.error("--classes takes 1 to 500, --class-size at least 1")
    counts = [
        args.idle_devices,
        args.latency_devices,
        args.restart_devices,
        args.classes * args.class_size,
        *args.bursts,
    ]
    if not all(1 <= n <= 12000 for n in counts):
        parser.error("use 1 to 12,000 devices per case")
    if not 0 <= args.devices_nice <= 19:
        parser.error("--devices-nice takes 0 to 19")
    if args.rate <= 0 or args.heartbeat < 1 or args.idle_seconds <= 0:
        parser.error("--rate, --heartbeat and --idle-seconds must be more than 0")
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
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"daphne did not listen on port {port} within {STARTUP_TIMEOUT} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_split(pid: int, thread: int | None = None) -> tuple[float, float]:
    """User and system CPU time the process (or one of its threads) has used so far, s."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    return sum(cpu_split(pid))


def run_delay(pid: int) -> float:
    """Seconds the process's main thread has spent runnable but waiting for a CPU."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def python_speed() -> float:
    """Seconds one core takes for ten million steps of a Python loop (the best of three).

    The CPU and latency figures scale with it, and it is not steady: on one shared
    2-CPU machine it went from 0.67 s to 3.0 s within the hour. Two readings
    compare only beside it.
    """
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


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


def seed_classes(lecturer, devices, classes: int) -> list[tuple[object, list]]:
    """`classes` courses of the bench lecturer, the devices' students shared out among
    them in turn; each course gets a fresh session. [(session, its devices)]."""
    from attendance.models import Course, Enrollment, Student

    courses = []
    for i in range(classes):
        course, _ = Course.objects.get_or_create(
            code=f"{CLASS_PREFIX}{i:03d}", defaults={"title": f"Benchmark class {i}"}
        )
        course.lecturers.add(lecturer)
        courses.append(course)
    groups = [devices[i::classes] for i in range(classes)]
    students = dict(
        Student.objects.filter(student_number__in=[d.student for d in devices]).values_list(
            "student_number", "pk"
        )
    )
    Enrollment.objects.filter(course__in=courses).delete()
    Enrollment.objects.bulk_create(
        Enrollment(course=course, student_id=students[d.student])
        for course, group in zip(courses, groups, strict=True)
        for d in group
    )
    return [
        (fresh_session(course, lecturer), group)
        for course, group in zip(courses, groups, strict=True)
    ]


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


def connected_rows_of(sessions) -> dict[int, int]:
    from django.db import connection
    from django.db.models import Count

    from attendance.models import ConnectedDevice

    try:
        counted = dict(
            ConnectedDevice.objects.filter(session__in=sessions, is_connected=True)
            .values("session")
            .annotate(n=Count("id"))
            .values_list("session", "n")
        )
        return {session.pk: counted.get(session.pk, 0) for session in sessions}
    finally:
        connection.close()  # it ran on a worker thread


def connected_rows(session) -> int:
    return connected_rows_of([session])[session.pk]


def rows_updated() -> dict[str, int]:
    """Rows PostgreSQL has updated so far in the presence tables (pg_stat_user_tables)."""
    from django.db import connection

    from attendance.models import ConnectedDevice, Device

    tables = {Device._meta.db_table: "device", ConnectedDevice._meta.db_table: "presence"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT relname, n_tup_upd FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                [list(tables)],
            )
            return {tables[name]: count for name, count in cursor.fetchall()}
    finally:
        connection.close()


# --- The clients --------------------------------------------------------------------------


class Lecturer:
    """The lecturer's /ws/events/ socket: records when each session.counts event arrives."""

    def __init__(self, url: str, token: str, session_id: int):
        self.url, self.token, self.session_id = url, token, session_id
        # Every session's counts as they arrived (the classes case watches many).
        self.seen: dict[int, list[tuple[float, int]]] = {}
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
            if event.get("type") == "session.counts":
                entries = [event]
            elif event.get("type") == "snapshot":
                entries = event["sessions"]
            else:
                continue
            for entry in entries:
                self.seen.setdefault(entry["session"], []).append((now, int(entry["checked_in"])))
            self.changed.set()

    @property
    def counts(self) -> list[tuple[float, int]]:
        """The watched session's counts as they arrived: (time, checked in)."""
        return self.seen.get(self.session_id, [])

    async def wait_for_count(self, count: int, timeout: float) -> float | None:
        """When a push first showed `count` checked in, or None after `timeout`."""
        return await self._wait(lambda: _first_reaching(self.counts, count), timeout)

    async def wait_for_all(self, sizes: dict[int, int], timeout: float) -> float | None:
        """When every session in `sizes` had shown its size checked in, or None."""

        def found() -> float | None:
            times = [_first_reaching(self.seen.get(pk, []), n) for pk, n in sizes.items()]
            return None if None in times else max(times)

        return await self._wait(found, timeout)

    async def _wait(self, found: Callable[[], float | None], timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while True:
            if (at := found()) is not None:
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


def _first_reaching(counts: list[tuple[float, int]], count: int) -> float | None:
    return next((at for at, seen in counts if seen >= count), None)


async def open_devices(url: str, devices, concurrency: int = 200):
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


async def join_all(clients, code: str, timeout: float) -> list[tuple[float, float, dict]]:
    joins = await asyncio.wait_for(
        asyncio.gather(*(join(c, code, timeout) for c in clients)), timeout
    )
    bad = [r for _s, _d, r in joins if r.get("type") != "joined"]
    if bad:
        raise SystemExit(f"{len(bad)} of {len(joins)} joins refused, e.g. {bad[0]}")
    return joins


def answers(joins: list[tuple[float, float, dict]]) -> dict:
    """How many joins were answered `joined`, and the replies' p50 and p99 in ms."""
    replies = [done - sent for sent, done, _r in joins]
    return {
        "answered": sum(1 for _s, _d, r in joins if r.get("type") == "joined"),
        "reply_p50_ms": percentile(replies, 50) * 1000,
        "reply_p99_ms": percentile(replies, 99) * 1000,
    }


def percentile(values: list[float], pct: float) -> float:
    from realtime.simulator import percentile as nearest_rank

    return nearest_rank(values, pct)


async def heartbeat_forever(client, interval: float) -> None:
    """A phone at rest: a ping every `interval` s (first one at a random moment), pongs read."""
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            await client.send({"type": "ping"})
            await asyncio.sleep(interval)


async def drain_forever(client) -> None:
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
        async for _raw in client.ws:
            pass


# --- Cases ---------------------------------------------------------------------------------


def quiet_collector() -> None:
    """No more garbage collections in this client process, until loud_collector().

    With 10,000 client sockets a full collection held the clients' event loop
    for up to a second: heartbeats sent late, or a lecturer's push read late
    and counted as the server's latency. What lives now is frozen (never walked
    again); a few minutes of uncollected cycles are nothing to a bench.
    """
    gc.freeze()
    gc.disable()


def loud_collector() -> None:
    gc.unfreeze()
    gc.enable()


def _idle_swarm(
    url: str, devices, code: str, heartbeat: float, timeout: float, nice: int, pipe
) -> None:
    """A process of its own: the idle devices join, then heartbeat until told to stop.

    Apart from the process that measures, so that 10,000 client sockets do not
    slow the clock of the lecturer's socket; and at a lower priority (`nice`),
    so that they do not take the servers' CPUs from them as phones could not.
    """
    os.nice(nice)

    async def run() -> None:
        started = time.perf_counter()
        clients = await open_devices(url, devices)
        await join_all(clients, code, timeout)
        tasks = [asyncio.create_task(heartbeat_forever(c, heartbeat)) for c in clients]
        tasks += [asyncio.create_task(drain_forever(c)) for c in clients]
        quiet_collector()
        pipe.send(("ready", time.perf_counter() - started))
        await asyncio.to_thread(pipe.recv)  # "stop", or the parent is gone
        for task in tasks:
            task.cancel()
        await close_devices(clients)

    try:
        asyncio.run(run())
    except BaseException as exc:  # reported to the parent, which fails the run
        with contextlib.suppress(OSError):
            pipe.send(("error", repr(exc)))
    finally:
        os._exit(0)  # no finalizers: the parent's database connection is not ours to close


async def case_idle_and_latency(args, a_url, b_url, token, devices, session, pid_a) -> dict:
    """10,000 idle devices heartbeating on A (another process); then 1,000 more join."""
    import multiprocessing

    from django.conf import settings
    from django.db import connections

    idle_creds = devices[: args.idle_devices]
    late_creds = devices[args.idle_devices : args.idle_devices + args.latency_devices]
    before = rss_mb(pid_a)
    connections.close_all()  # not shared with the forked swarm
    parent, child = multiprocessing.Pipe()
    swarm = multiprocessing.get_context("fork").Process(
        target=_idle_swarm,
        args=(
            a_url,
            idle_creds,
            session.join_code,
            args.heartbeat,
            args.timeout,
            args.devices_nice,
            child,
        ),
    )
    swarm.start()
    ready = await asyncio.to_thread(parent.poll, args.timeout * 2)
    kind, detail = parent.recv() if ready else ("error", "no answer in time")
    if kind != "ready":
        swarm.kill()
        raise SystemExit(f"the idle devices could not join: {detail}")
    connected_s = detail
    late: list = []
    quiet_collector()
    try:
        # Settle: the joins' pushes and the first heartbeats' writes are past.
        await asyncio.sleep(args.heartbeat + 5)
        after = rss_mb(pid_a)
        upd_before = await asyncio.to_thread(rows_updated)
        split_before, wall_before = cpu_split(pid_a), time.monotonic()
        loop_before = sum(cpu_split(pid_a, thread=pid_a))
        await asyncio.sleep(args.idle_seconds)
        split_after = cpu_split(pid_a)
        window = time.monotonic() - wall_before
        # The main thread runs the event loop; the others are database threads.
        loop_cpu = (sum(cpu_split(pid_a, thread=pid_a)) - loop_before) / window * 100
        # The system share includes, on loopback, delivering each reply into
        # the devices' sockets: a cost the devices' own machine pays in production.
        user, system = (
            (b - a) / window * 100 for a, b in zip(split_before, split_after, strict=True)
        )
        cpu = user + system
        await asyncio.sleep(2)  # PostgreSQL publishes table statistics about once a second
        upd_after = await asyncio.to_thread(rows_updated)
        intervals = window / settings.ATTENDANCE_HEARTBEAT_SECONDS
        writes = {
            table: (upd_after[table] - upd_before[table]) / (len(idle_creds) * intervals)
            for table in upd_after
        }
        idle_load = load()
        # Opened only now: silent sockets are no part of the idle case (devices
        # heartbeat from their hello on), and daphne would ping each after 45 s.
        late = await open_devices(a_url, late_creds)

        async with Lecturer(b_url, token, session.pk) as lecturer:
            waited_before, phase_started = run_delay(pid_a), time.monotonic()
            base = len(idle_creds)
            interval = 1 / args.rate
            start = time.perf_counter()
            tasks = []
            for i, client in enumerate(late):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(join(client, session.join_code, args.timeout)))
            joins = await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
            bad = [r for _s, _d, r in joins if r.get("type") != "joined"]
            if bad:
                raise SystemExit(f"{len(bad)} joins failed, e.g. {bad[0]}")
            final = await lecturer.wait_for_count(base + len(late), args.timeout)
            if final is None:
                raise SystemExit(
                    f"the lecturer never saw {base + len(late)} checked in "
                    f"(last: {lecturer.counts[-1:]})"
                )
            # The k-th join the server confirmed is counted by the first push with
            # checked_in >= base + k (counts only grow here).
            by_confirmation = sorted(joins, key=lambda j: j[1])
            waits = []
            for k, (sent, _done, _reply) in enumerate(by_confirmation, start=1):
                seen = next(at for at, n in lecturer.counts if n >= base + k)
                waits.append(max(0.0, seen - sent))
            updates, shown = [], base
            for at, n in lecturer.counts:
                if shown < n <= base + len(by_confirmation) and at <= final:
                    updates.append(max(0.0, at - by_confirmation[n - base - 1][0]))
                    shown = n
            pushed_at = [at for at, n in lecturer.counts if n > base and at <= final]
            span = pushed_at[-1] - pushed_at[0] if len(pushed_at) > 1 else 0.0
            gaps = [b - a for a, b in itertools.pairwise(pushed_at)]
            # How much of the phase A's event loop was ready to run but had no CPU:
            # the machine's share of the latency, not the server's.
            starved = (run_delay(pid_a) - waited_before) / (time.monotonic() - phase_started)
        return {
            "starved_pct": starved * 100,
            "idle": len(idle_creds),
            "connected_s": connected_s,
            "rss_before_mb": before,
            "rss_after_mb": after,
            "mb_per_1000": (after - before) * 1000 / len(idle_creds),
            "cpu_pct": cpu,
            "cpu_user_pct": user,
            "cpu_system_pct": system,
            "cpu_loop_pct": loop_cpu,
            "window_s": window,
            "writes": writes,
            "idle_load": idle_load,
            **answers(joins),
            "p50_ms": percentile(updates, 50) * 1000,
            "p99_ms": percentile(updates, 99) * 1000,
            "wait_p50_ms": percentile(waits, 50) * 1000,
            "wait_p99_ms": percentile(waits, 99) * 1000,
            "pushes_per_s": len(gaps) / span if span > 0 else 0.0,
            "pushes": len(pushed_at),
            "latency_load": load(),
        }
    finally:
        loud_collector()
        await close_devices(late)
        with contextlib.suppress(OSError):
            parent.send("stop")
        await asyncio.to_thread(swarm.join, 30)
        if swarm.is_alive():
            swarm.kill()


async def case_burst(args, a_device, b_device, b_events, token, devices, session) -> dict:
    on_a = devices if args.one_process else devices[::2]
    on_b = [] if args.one_process else devices[1::2]
    clients = await open_devices(a_device, on_a) + (
        await open_devices(b_device, on_b) if on_b else []
    )
    try:
        async with Lecturer(b_events, token, session.pk) as lecturer:
            started_load = load()
            start = time.perf_counter()
            joins = await asyncio.wait_for(
                asyncio.gather(*(join(c, session.join_code, args.timeout) for c in clients)),
                args.timeout,
            )
            final = await lecturer.wait_for_count(len(clients), args.timeout)
            await asyncio.sleep(1.5)  # later pushes would show an overcount
            last = lecturer.counts[-1][1] if lecturer.counts else 0
            rows = await asyncio.to_thread(connected_rows, session)
            return {
                "devices": len(clients),
                **answers(joins),
                "counted_s": (final - start) if final else None,
                "final_count": last,
                "rows": rows,
                "pushes": len(lecturer.counts),
                "load": started_load,
            }
    finally:
        await close_devices(clients)


async def case_classes(args, a_device, b_device, b_events, token, classes) -> dict:
    """Many classes start at once: every device joins its own class's session."""
    pairs = [(session, creds) for session, group in classes for creds in group]
    # Every other device on each process; the pairs keep their order.
    on_a = await open_devices(a_device, [creds for _s, creds in pairs[::2]])
    on_b = await open_devices(b_device, [creds for _s, creds in pairs[1::2]])
    clients = [None] * len(pairs)
    clients[::2], clients[1::2] = on_a, on_b
    sizes = {session.pk: len(group) for session, group in classes}
    try:
        async with Lecturer(b_events, token, None) as lecturer:
            started_load = load()
            start = time.perf_counter()
            joins = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        join(client, session.join_code, args.timeout)
                        for client, (session, _c) in zip(clients, pairs, strict=True)
                    )
                ),
                args.timeout,
            )
            final = await lecturer.wait_for_all(sizes, args.timeout)
            await asyncio.sleep(1.5)  # later pushes would show an overcount
            shown = {pk: lecturer.seen[pk][-1][1] if pk in lecturer.seen else 0 for pk in sizes}
            rows = await asyncio.to_thread(
                connected_rows_of, [session for session, _group in classes]
            )
            return {
                "devices": len(clients),
                **answers(joins),
                "counted_s": (final - start) if final else None,
                "exact": shown == sizes and rows == sizes,
                "replied_s": max(d for _s, d, _r in joins) - start,
                "load": started_load,
            }
    finally:
        await close_devices(clients)


async def case_restart(args, a_url, devices, session, sigterm_and_start) -> dict:
    """Devices joined on A; A gets SIGTERM and is started again; they come back and resume."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    from realtime.simulator import RESTART_JITTER, DeviceClient, ProtocolError, close_code

    clients = await open_devices(a_url, devices)
    await join_all(clients, session.join_code, args.timeout)
    closed_with: dict[int, int] = {}
    marks: dict[str, float] = {}

    async def come_back(client, creds):
        # Closed by the server (1012 on a graceful restart), as device.js and the simulator are.
        try:
            await client.ws.recv()
        except ConnectionClosed as exc:
            code = close_code(exc)
        else:
            code = 0
        closed_with[code] = closed_with.get(code, 0) + 1
        await asyncio.sleep(random.uniform(0, RESTART_JITTER))
        attempt = 0
        while True:
            try:
                again, reply = await DeviceClient.resume(
                    a_url, creds, session.pk, timeout=args.timeout
                )
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ProtocolError):
                # Not listening yet: full jitter, doubling from 0.25 s up to 2 s.
                attempt += 1
                await asyncio.sleep(random.uniform(0, min(2.0, 0.25 * 2**attempt)))
                continue
            return again, reply, time.perf_counter()

    waiting = [
        asyncio.create_task(come_back(c, creds)) for c, creds in zip(clients, devices, strict=True)
    ]
    restart_load = load()
    signalled = time.perf_counter()
    await asyncio.to_thread(sigterm_and_start, marks)
    listening = marks["listening"]
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), args.timeout)
    # What the resumes cost the new process, whatever else the machine was doing.
    cpu_used = cpu_seconds(marks["pid"]) - marks["cpu"]
    back = [r for r in results if not isinstance(r, BaseException)]
    try:
        rejoined = [r for r in back if r[1].get("type") == "joined"]
        rows = await asyncio.to_thread(connected_rows, session)
        last = max((at for _c, _r, at in rejoined), default=listening)
        return {
            "devices": len(clients),
            "rejoined": len(rejoined),
            "failed": len(results) - len(rejoined),
            "closed_with": closed_with,
            "stopped_s": marks["exited"] - signalled,
            "since_listening_s": last - listening,
            "since_signal_s": last - signalled,
            "rows": rows,
            "load": restart_load,
            "cpu_ms_each": cpu_used * 1000 / len(clients),
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
        "ATTENDANCE_HEARTBEAT_SECONDS": str(args.heartbeat),
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

    total = max(
        args.idle_devices + args.latency_devices if "idle" in args.cases else 0,
        max(args.bursts) if "burst" in args.cases else 0,
        args.classes * args.class_size if "classes" in args.cases else 0,
        args.restart_devices if "restart" in args.cases else 0,
    )
    course, lecturer, devices, token = seed(total, log_dir / "devices.json")
    print(f"Channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']} (prefix {prefix})")
    print(
        f"Machine: {os.cpu_count()} CPUs; {load()}; a 10-million-step Python loop"
        f" takes {python_speed():.2f} s"
    )

    servers = [start_daphne(env, log_dir) for _ in range(2)]
    (_proc_a, port_a), (_proc_b, port_b) = servers
    a_device = f"ws://127.0.0.1:{port_a}/ws/device/"
    b_device = f"ws://127.0.0.1:{port_b}/ws/device/"
    b_events = f"ws://127.0.0.1:{port_b}/ws/events/"
    print(f"Servers: A on :{port_a}, B (the lecturer's) on :{port_b}")
    met: dict[str, bool] = {}
    try:
        if "idle" in args.cases:
            session = fresh_session(course, lecturer)
            r = asyncio.run(
                case_idle_and_latency(
                    args, a_device, b_events, token, devices, session, servers[0][0].pid
                )
            )
            end(session, lecturer)
            w = r["writes"]
            met["memory"] = r["mb_per_1000"] <= TARGETS["mb_per_1000"]
            met["writes"] = max(w.values()) <= TARGETS["writes_per_interval"]
            met["cpu"] = r["cpu_pct"] <= TARGETS["cpu_pct"]
            met["latency"] = r["p50_ms"] <= TARGETS["p50_ms"] and r["p99_ms"] <= TARGETS["p99_ms"]
            print(
                f"\n1. Idle: {r['idle']} devices joined on A ({r['connected_s']:.1f} s to connect"
                f" and join; their process at nice {args.devices_nice}), a heartbeat every"
                f" {args.heartbeat} s each:"
                f"\n   memory of A {r['rss_before_mb']:.0f} MB -> {r['rss_after_mb']:.0f} MB ="
                f" {r['mb_per_1000']:.1f} MB per 1,000 (target <= {TARGETS['mb_per_1000']:g});"
                f"\n   rows written per device per heartbeat interval: presence"
                f" {w.get('presence', 0):.2f}, device {w.get('device', 0):.2f}"
                f" (target <= {TARGETS['writes_per_interval']:g});"
                f"\n   CPU of A over {r['window_s']:.0f} s: {r['cpu_pct']:.1f} % of one core"
                f" (target <= {TARGETS['cpu_pct']:g}): user {r['cpu_user_pct']:.1f} %,"
                f" system {r['cpu_system_pct']:.1f} %; the event loop's thread"
                f" {r['cpu_loop_pct']:.1f} %, the others {r['cpu_pct'] - r['cpu_loop_pct']:.1f} %;"
                f" {r['idle_load']}"
                f"\n\n2. Join -> lecturer update, {args.latency_devices} devices at"
                f" {args.rate:g} joins/s while the {r['idle']} idle devices heartbeat:"
                f"\n   update latency p50 {r['p50_ms']:.1f} ms (target <= {TARGETS['p50_ms']}),"
                f" p99 {r['p99_ms']:.1f} ms (target <= {TARGETS['p99_ms']});"
                f"\n   {r['pushes']} count pushes = {r['pushes_per_s']:.1f} pushes/s;"
                f" each join's wait until counted p50 {r['wait_p50_ms']:.0f} ms,"
                f" p99 {r['wait_p99_ms']:.0f} ms;"
                f"\n   join -> joined reply p50 {r['reply_p50_ms']:.1f} ms,"
                f" p99 {r['reply_p99_ms']:.1f} ms; A's event loop waited for a CPU"
                f" {r['starved_pct']:.0f} % of the time; {r['latency_load']}"
            )
        if "burst" in args.cases:
            for n in args.bursts:
                session = fresh_session(course, lecturer)
                b = asyncio.run(
                    case_burst(args, a_device, b_device, b_events, token, devices[:n], session)
                )
                end(session, lecturer)
                exact = b["answered"] == n and b["final_count"] == n and b["rows"] == n
                target = TARGETS["burst_s"].get(n, n / 1000)
                met[f"burst {n}"] = (
                    exact and b["counted_s"] is not None and (b["counted_s"] <= target)
                )
                counted = f"{b['counted_s']:.2f} s" if b["counted_s"] is not None else "never"
                where = "all on A" if args.one_process else "half on each process"
                print(
                    f"\n3. Burst of {n} joins at once ({where}): all counted after {counted}"
                    f" (target <= {target:g} s);"
                    f"\n   joins answered {b['answered']}/{n}, final pushed count"
                    f" {b['final_count']}, connected rows {b['rows']}:"
                    f" {'exact, none refused' if exact else 'NOT EXACT'}; {b['pushes']} pushes;"
                    f" join -> joined reply p50 {b['reply_p50_ms']:.0f} ms,"
                    f" p99 {b['reply_p99_ms']:.0f} ms; {b['load']}"
                )
        if "classes" in args.cases:
            n = args.classes * args.class_size
            classes = seed_classes(lecturer, devices[:n], args.classes)
            c = asyncio.run(case_classes(args, a_device, b_device, b_events, token, classes))
            for session, _group in classes:
                end(session, lecturer)
            target = TARGETS["burst_s"].get(n, n / 1000)
            met["classes"] = c["exact"] and c["counted_s"] is not None and c["counted_s"] <= target
            counted = f"{c['counted_s']:.2f} s" if c["counted_s"] is not None else "never"
            print(
                f"\n4. {args.classes} classes of {args.class_size} start at once, {n} joins"
                f" (half on each process): every class counted after {counted}"
                f" (target <= {target:g} s);"
                f"\n   joins answered {c['answered']}/{n} (the last after"
                f" {c['replied_s']:.2f} s); every class's pushed count and connected rows:"
                f" {'exact' if c['exact'] else 'NOT EXACT'};"
                f" join -> joined reply p50 {c['reply_p50_ms']:.0f} ms,"
                f" p99 {c['reply_p99_ms']:.0f} ms; {c['load']}"
            )
        if "restart" in args.cases:
            session = fresh_session(course, lecturer)

            def sigterm_and_start(marks: dict[str, float]) -> None:
                proc, port = servers[0]
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
                marks["exited"] = time.perf_counter()
                servers[0] = start_daphne(env, log_dir, port=port)
                marks["listening"] = time.perf_counter()
                marks["pid"] = servers[0][0].pid
                marks["cpu"] = cpu_seconds(marks["pid"])

            n = args.restart_devices
            again = asyncio.run(
                case_restart(args, a_device, devices[:n], session, sigterm_and_start)
            )
            end(session, lecturer)
            met["restart"] = (
                again["rejoined"] == n and again["since_listening_s"] <= TARGETS["restart_s"]
            )
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(again["closed_with"].items()))
            print(
                f"\n5. Restart: SIGTERM to A with {n} devices joined (closed with {codes});"
                f" A drained and exited after {again['stopped_s']:.2f} s and was started again:"
                f"\n   {again['rejoined']}/{n} resumed their session"
                f" {again['since_listening_s']:.2f} s after A listened again"
                f" (target <= {TARGETS['restart_s']:g} s;"
                f" {again['since_signal_s']:.2f} s after the signal), {again['failed']} failed;"
                f" connected rows {again['rows']};"
                f"\n   the new A spent {again['cpu_ms_each']:.2f} ms of CPU per resumed device;"
                f" {again['load']}"
            )
        print(
            "\nTargets: "
            + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in met.items())
        )
        return 0 if all(met.values()) else 1
    finally:
        for proc, _port in servers:
            proc.terminate()
        for proc, _port in servers:
            try:
                proc.wait(15)
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
