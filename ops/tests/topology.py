"""The production shape on this machine: Debian's nginx with the project's config in front
of two daphne processes (DEBUG=0), the sweeper, PostgreSQL and Redis.

The processes serve the test run's PostgreSQL database and its Redis (under a
channel-layer prefix of their own); nginx includes deploy/nginx/rollcall.conf
as it is, after an `upstream rollcall` block naming the two daphne ports (the
one part that differs from docker-compose, where upstream.conf names them).
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from conftest import test_redis_url
from realtime.tests.servers import free_port, test_database_url

ROOT = Path(settings.BASE_DIR)
STARTUP_SECONDS = 30
DAPHNE = [sys.executable, "-m", "daphne", "-b", "127.0.0.1"]
SWEEPER = [sys.executable, "manage.py", "cleanup_sessions", "--loop", "--interval", "1"]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {port} in {STARTUP_SECONDS} s:\n{tail(log)}")


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def production_env(workdir: Path, static_root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=test_database_url(),
        REDIS_URL=test_redis_url(),
        CHANNEL_LAYER_PREFIX=f"rollcall-topology-{uuid.uuid4().hex[:10]}",
        STATIC_ROOT=str(static_root),
        LOG_DIR=str(workdir / "logs"),
        ATTENDANCE_IN_PROCESS_SWEEP="0",
        PYTHONUNBUFFERED="1",
    )
    return env


NGINX_MAIN = """
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # For the test only: which process answered (the project's file sets no header,
    # so this one reaches its locations).
    add_header X-Upstream $upstream_addr always;
    upstream rollcall {{
{servers}
    }}
    include {project_conf};
}}
"""


def nginx_config(prefix: Path, *, port: int, backends: list[int]) -> Path:
    # The project's server block as it is, on a free port instead of 80.
    project = (ROOT / "deploy" / "nginx" / "rollcall.conf").read_text()
    listen = "    listen 80 backlog=4096;\n"
    assert listen in project
    project_conf = prefix / "rollcall.conf"
    project_conf.write_text(project.replace(listen, f"    listen 127.0.0.1:{port} backlog=4096;\n"))
    servers = "\n".join(
        f"        server 127.0.0.1:{b} max_fails=1 fail_timeout=30s;" for b in backends
    )
    main = prefix / "nginx.conf"
    main.write_text(
        NGINX_MAIN.format(
            # Workers run as root here: the test's temp dirs are root's own.
            user="user root;" if os.geteuid() == 0 else "",
            prefix=prefix,
            servers=servers,
            project_conf=project_conf,
        )
    )
    return main


@dataclass
class Topology:
    nginx_port: int
    backends: dict[int, subprocess.Popen]
    sweeper_metrics_port: int
    workdir: Path
    start_backend: Callable[[int], subprocess.Popen]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def kill_backend(self, port: int) -> None:
        """SIGKILL, as a crash: the process gets no chance to say goodbye to its sockets."""
        proc = self.backends[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def revive_backend(self, port: int) -> None:
        """A new process on the same port, so later tests find both again."""
        if self.backends[port].poll() is not None:
            self.backends[port] = self.start_backend(port)


@contextlib.contextmanager
def running_topology(workdir: Path) -> Iterator[Topology]:
    nginx = nginx_binary()
    assert nginx, "nginx is not installed"
    static_root = workdir / "static"
    env = production_env(workdir, static_root)
    # Hashed names and compressed copies, as the image builds them.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    processes: list[tuple[subprocess.Popen, int, Path]] = []
    backends: dict[int, subprocess.Popen] = {}

    def start(name: str, argv: list[str], port: int) -> subprocess.Popen:
        log = workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append((proc, port, log))
        return proc

    def start_backend(port: int) -> subprocess.Popen:
        proc = start(
            f"daphne-{port}",
            [*DAPHNE, "-p", str(port), "--proxy-headers", "config.asgi:application"],
            port,
        )
        wait_for_port(port, proc, workdir / f"daphne-{port}.log")
        return proc

    try:
        for _ in (1, 2):
            port = free_port()
            backends[port] = start(
                f"daphne-{port}",
                [*DAPHNE, "-p", str(port), "--proxy-headers", "config.asgi:application"],
                port,
            )
        metrics_port = free_port()
        start(
            "sweeper",
            [*SWEEPER, "--metrics-port", str(metrics_port)],
            metrics_port,
        )
        nginx_port = free_port()
        prefix = workdir / "nginx"
        prefix.mkdir()
        conf = nginx_config(prefix, port=nginx_port, backends=list(backends))
        start("nginx", [nginx, "-p", str(prefix), "-c", str(conf)], nginx_port)
        for proc, port, log in processes:
            wait_for_port(port, proc, log)
        yield Topology(
            nginx_port=nginx_port,
            backends=backends,
            sweeper_metrics_port=metrics_port,
            workdir=workdir,
            start_backend=start_backend,
        )
    finally:
        for proc, _, _ in reversed(processes):
            stop(proc)
