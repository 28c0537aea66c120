"""Refused requests logged as one warning line each, without a traceback.

Django logs a PermissionDenied (django.request) and a Host header outside
ALLOWED_HOSTS (django.security.DisallowedHost) with the exception's
traceback, the second at ERROR. Both are a client's doing, not a fault of the
server: a scanner probing Host headers would otherwise fill the log with
tracebacks and bury real errors.
"""

import logging

from django.core.exceptions import DisallowedHost, PermissionDenied


class OneLineRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, PermissionDenied | DisallowedHost):
            if isinstance(error, PermissionDenied) and str(error):
                record.msg = f"{record.msg} ({str(error).replace('%', '%%')})"
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True
