"""Private Redis servers and sentinels on free ports, for fault tests (never the shared Redis)."""

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from realtime.tests.servers import free_port

WAIT_SECONDS = 15


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def redis_sentinel_binary() -> str | None:
    return shutil.which("redis-sentinel")


def eventually(check: Callable[[], object], *, what: str, seconds: float = WAIT_SECONDS):
    """check()'s first truthy answer within `seconds` (errors count as not yet)."""
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (redis.RedisError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: still {last!r} after {seconds} s")


class RedisProcess:
    """A redis-server (or sentinel) of this test's own, stopped and started at will."""

    def __init__(self, workdir: Path, *, port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.workdir = workdir / f"redis-{self.port}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            redis_server_binary() or "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            *self.args,
        ]  # fmt: skip

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> "RedisProcess":
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        eventually(self.client().ping, what=f"redis on {self.port} answering")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(5)


class SentinelProcess(RedisProcess):
    def __init__(self, workdir: Path, *, master_name: str, master_port: int):
        super().__init__(workdir)
        self.master_name = master_name
        conf = self.workdir / "sentinel.conf"  # sentinel rewrites it: a file of its own
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {master_name} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {master_name} 500\n"
            f"sentinel failover-timeout {master_name} 5000\n"
            f"sentinel parallel-syncs {master_name} 1\n"
        )
        self.conf = conf

    def command(self) -> list[str]:
        return [redis_sentinel_binary() or "redis-sentinel", str(self.conf)]

    def master_port(self) -> int:
        _, port = self.client().sentinel_get_master_addr_by_name(self.master_name)
        return int(port)

    def knows_replica(self, port: int) -> bool:
        replicas = self.client().sentinel_slaves(self.master_name)
        return any(
            int(r["port"]) == port and not r["is_sdown"] and not r["is_disconnected"]
            for r in replicas
        )


@contextlib.contextmanager
def stopped_at_exit(*processes: RedisProcess):
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()
