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
