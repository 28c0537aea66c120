"""Delivery backends standing in for a mail server that is down (the one thing mocked)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class DownBackend(BaseEmailBackend):
    """The mail server refuses connections."""

    def open(self):
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


class RefusingBackend(BaseEmailBackend):
    """The server answers but refuses each message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(451, b"Try again later")


class DroppingBackend(BaseEmailBackend):
    """The server takes the first message, then drops the connection."""

    def send_messages(self, email_messages):
        from django.core import mail

        if getattr(mail, "outbox", None) is None:
            mail.outbox = []
        if mail.outbox:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(email_messages)
        return len(email_messages)


class DrainedMeanwhileBackend(BaseEmailBackend):
    """A slow server: while the first message is being sent, another drain runs (a live
    sweeper on the real clock)."""

    busy = False

    def send_messages(self, email_messages):
        from django.core import mail

        from outbox.delivery import drain

        if getattr(mail, "outbox", None) is None:
            mail.outbox = []
        if not DrainedMeanwhileBackend.busy:
            DrainedMeanwhileBackend.busy = True
            try:
                drain()
            finally:
                DrainedMeanwhileBackend.busy = False
        mail.outbox.extend(email_messages)
        return len(email_messages)
