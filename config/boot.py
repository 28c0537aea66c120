"""Start-up: a bad setting stops the process with its message alone, exit status 2.

config/settings.py refuses a bad value with ImproperlyConfigured naming the
variable. Left alone, that surfaces as a 55-line traceback with the message at
the bottom; manage.py (so every command, the sweeper included) and the ASGI
entry point (daphne) load the settings through here first instead.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

EXIT_BAD_SETTING = 2


def load_settings_or_exit() -> None:
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (the first read evaluates every setting)
    except ImproperlyConfigured as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_BAD_SETTING) from None
