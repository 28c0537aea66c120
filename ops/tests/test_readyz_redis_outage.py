"""/readyz on a real server while its Redis goes away and comes back, with no restart."""

import http.client
import json
import os

import pytest

from conftest import _missing
from ops.tests.redis_servers import RedisProcess, eventually, redis_server_binary
from realtime.tests.servers import daphne

pytestmark = [pytest.mark.servers, pytest.mark.postgres]


def readyz(port: int) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request("GET", "/readyz")
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


def test_readyz_is_503_while_redis_is_down_and_200_once_it_is_back(transactional_db, tmp_path):
    if redis_server_binary() is None:
        _missing("needs redis-server for a private Redis")
    redis_server = RedisProcess(tmp_path).start()
    try:
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
            "CHANNEL_LAYER_PREFIX": "readyz-test",
        }
        with daphne(workdir=tmp_path, extra_env=env) as port:
            pid = _server_pid(port)
            assert readyz(port) == (200, {"status": "ok"})

            redis_server.stop()
            status, body = readyz(port)
            assert status == 503
            assert body["status"] == "unavailable"
            assert set(body["failed"]) == {"redis", "channel_layer"}
            assert "Connection" in body["failed"]["redis"]

            redis_server.start()
            eventually(lambda: readyz(port)[0] == 200, what="/readyz after Redis came back")
            assert _server_pid(port) == pid  # the same process: nothing restarted
        log = (tmp_path / "logs" / "rollcall.log").read_text()
        assert log.count("Not ready: ") == 1 and log.count("Ready again") == 1
        assert "Service Unavailable" not in log  # no request error per probe
    finally:
        redis_server.stop()


def _server_pid(port: int) -> int:
    # The process listening on the port, from the kernel's socket table.
    inode = None
    for line in open("/proc/net/tcp").read().splitlines()[1:]:  # noqa: SIM115
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inode = fields[9]
    assert inode, f"nothing listens on {port}"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
            except OSError:
                continue
    raise AssertionError(f"no process owns the socket on {port}")
