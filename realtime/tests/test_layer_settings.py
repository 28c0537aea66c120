"""The Redis layer settings reach redis-py: a read timeout above 5 s and a large pool."""

import os
import subprocess
import sys

import pytest
from channels_redis.utils import create_pool

from config.settings import redis_channel_layer


@pytest.mark.parametrize("kind", ["pubsub", "core"])
def test_every_host_gets_a_long_read_timeout_and_a_large_pool(kind, monkeypatch):
    import config.settings

    monkeypatch.setattr(config.settings, "CHANNEL_LAYER", kind)
    layer = redis_channel_layer("redis://127.0.0.1:6379/3", prefix="p")
    [host] = layer["CONFIG"]["hosts"]
    pool = create_pool(host)  # what channels-redis 4.3 builds for each host
    # channels-redis blocks reading for 5 s; redis-py's default timeout equals it.
    assert pool.connection_kwargs["socket_timeout"] > 5
    assert pool.max_connections >= 1000
    assert pool.connection_kwargs["db"] == 3
    assert layer["CONFIG"]["prefix"] == "p"


def test_the_prefix_comes_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "CHANNEL_LAYER_PREFIX": "school-b",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "school-b"
