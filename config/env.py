"""Small, strict readers for settings that come from the environment.

A bad value stops the process at start with a message naming the variable,
instead of running with a surprising default.
"""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def host_port(name: str, raw: str) -> tuple[str, int]:
    """`host:port` (the port a whole number), for lists such as REDIS_SENTINELS."""
    host, _, port = raw.strip().rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        raise ImproperlyConfigured(f"{name}: {raw.strip()!r} is not host:port (10.0.0.5:26379).")
    return host.strip("[]"), int(port)


def network_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated networks in CIDR form (10.0.0.0/8, ::1/128); a bare address is one host."""
    networks = envlist(name, default)
    for item in networks:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not a network such as 10.0.0.0/8 or 127.0.0.1."
            ) from None
    return networks


def redis_url_options(url: str) -> dict:
    """The database number and password a redis:// URL names."""
    from redis.connection import parse_url

    return parse_url(url)
