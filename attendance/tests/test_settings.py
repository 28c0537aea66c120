"""The settings module, as each environment would load it, in a fresh interpreter."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "TIME_ZONE",
    "CHANNEL_LAYER",
    "ATTENDANCE_LATE_AFTER_MINUTES",
]


def evaluate(monkeypatch, tmp_path, **env) -> dict:
    """config/settings.py's module body run afresh under `env` (what a new process would see)."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "settings.py"))


def loaded(monkeypatch, tmp_path, **env) -> dict:
    s = evaluate(monkeypatch, tmp_path, **env)
    layer = s["CHANNEL_LAYERS"]["default"]
    return {
        "DEBUG": s["DEBUG"],
        "DB_ENGINE": s["DATABASES"]["default"]["ENGINE"],
        "DB_NAME": s["DATABASES"]["default"]["NAME"],
        "LAYER": layer["BACKEND"],
        "LAYER_HOST": layer.get("CONFIG", {}).get("hosts", [{}])[0],
        "CACHE": s["CACHES"]["default"]["BACKEND"],
        "SESSION_ENGINE": s["SESSION_ENGINE"],
        "SESSION_SAVE_EVERY_REQUEST": s["SESSION_SAVE_EVERY_REQUEST"],
        "SESSION_COOKIE_AGE": s["SESSION_COOKIE_AGE"],
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": s["SESSION_EXPIRE_AT_BROWSER_CLOSE"],
        "USE_TZ": s["USE_TZ"],
        "TIME_ZONE": s["TIME_ZONE"],
        "HANDLERS": sorted(s["LOGGING"]["handlers"]),
        "FILE_HANDLER": s["LOGGING"]["handlers"]["file"]["class"],
    }


def refused(monkeypatch, tmp_path, **env) -> str:
    with pytest.raises(ImproperlyConfigured) as error:
        evaluate(monkeypatch, tmp_path, **env)
    return str(error.value)


def clean_env(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    clean.update(LOG_DIR=str(tmp_path), **env)
    return clean


def production(**extra) -> dict:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.org",
        **extra,
    }


def test_with_nothing_set_it_runs_the_embedded_default(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path)
    assert s["DEBUG"] is True
    assert s["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert s["LAYER"] == "channels.layers.InMemoryChannelLayer"
    assert s["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_the_four_web_session_settings_hold_in_every_mode(monkeypatch, tmp_path):
    for env in ({}, {"REDIS_URL": "redis://127.0.0.1:6379/2"}):
        s = loaded(monkeypatch, tmp_path, **env)
        assert s["SESSION_SAVE_EVERY_REQUEST"] is False
        assert s["SESSION_COOKIE_AGE"] == 3600
        assert s["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True
        assert s["SESSION_ENGINE"] in {
            "django.contrib.sessions.backends.db",
            "accounts.session_store",
        }


def test_timestamps_are_stored_in_utc_and_the_zone_is_configurable(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path, TIME_ZONE="Africa/Lagos")
    assert s["USE_TZ"] is True and s["TIME_ZONE"] == "Africa/Lagos"


def test_a_database_url_switches_to_postgresql(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path, DATABASE_URL="postgres://school@db.internal:5432/rollcall")
    assert s["DB_ENGINE"] == "django.db.backends.postgresql"
    assert s["DB_NAME"] == "rollcall"


def test_a_redis_url_switches_to_channels_redis_and_cached_db_sessions(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path, REDIS_URL="redis://127.0.0.1:6379/2")
    assert s["LAYER"] == "realtime.layer.ResilientPubSubChannelLayer"
    assert s["SESSION_ENGINE"] == "accounts.session_store"
    assert s["CACHE"] == "config.redis_cache.SharedRedisCache"
    # Well above channels-redis' 5 s blocking read, and a pool larger than 100.
    assert s["LAYER_HOST"]["socket_timeout"] > 5
    assert s["LAYER_HOST"]["max_connections"] > 100


def test_the_core_redis_layer_can_be_chosen(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path, REDIS_URL="redis://127.0.0.1:6379/2", CHANNEL_LAYER="core")
    assert s["LAYER"] == "channels_redis.core.RedisChannelLayer"


def test_logging_goes_to_the_console_and_a_rotating_file(monkeypatch, tmp_path):
    s = loaded(monkeypatch, tmp_path)
    assert s["HANDLERS"] == ["console", "file"]
    assert s["FILE_HANDLER"] == "logging.handlers.RotatingFileHandler"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "SECRET_KEY must be set"),
        (production(ALLOWED_HOSTS="*"), "ALLOWED_HOSTS must name the hosts"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL is not usable"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with redis://"),
        ({"CHANNEL_LAYER": "kafka"}, "CHANNEL_LAYER='kafka'"),
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE='Mars/Base' is not a time zone"),
        ({"ATTENDANCE_LATE_AFTER_MINUTES": "ten"}, "ATTENDANCE_LATE_AFTER_MINUTES='ten'"),
        ({"ATTENDANCE_LATE_AFTER_MINUTES": "-5"}, "must be at least 0"),
    ],
)
def test_bad_values_stop_the_start_with_a_message_naming_the_variable(
    monkeypatch, tmp_path, env, message
):
    assert message in refused(monkeypatch, tmp_path, **env)


def test_a_bad_value_stops_a_real_start_with_the_message(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(tmp_path, DEBUG="maybe"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The message alone, not a traceback with the message at the bottom (config/boot.py).
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "Configuration error: DEBUG='maybe' is not a boolean; use one of 1/0, true/false, "
        "yes/no, on/off."
    ]


def test_the_production_profile_passes_the_deploy_checks(tmp_path):
    clean = clean_env(tmp_path, **production())
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues (0 silenced)." in proc.stdout


def test_a_hung_redis_fails_a_cache_call_in_seconds_and_the_pool_checks_connections(
    monkeypatch, tmp_path
):
    s = evaluate(
        monkeypatch,
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/2",
        DATABASE_URL="postgres://school@db.internal:5432/rollcall",
    )
    # A Redis that stops answering holds a page or a socket this long, not for ever.
    assert 0 < s["CACHES"]["default"]["OPTIONS"]["socket_timeout"] <= 5
    assert s["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    assert 0 < s["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] <= 10
