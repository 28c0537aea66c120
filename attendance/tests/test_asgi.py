"""The server's entry point: what it has loaded is frozen out of the garbage collector."""

import subprocess
import sys
from pathlib import Path

from attendance.tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
import config.asgi
frozen = gc.get_freeze_count()
assert gc.collect() >= 0
print(frozen, len(gc.get_objects()))
"""


def test_the_entry_point_freezes_what_it_loaded(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=subprocess_env(tmp_path / "db.sqlite3"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    frozen, tracked = map(int, proc.stdout.split())
    # Django and the apps stay out of every later full collection.
    assert frozen > 50_000
    assert tracked < frozen / 5
