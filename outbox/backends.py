"""An email backend that writes to the outbox instead of sending.

settings.EMAIL_BACKEND points here, so everything that sends mail through
Django (a password reset, an invitation) goes through the database first. The
sweeper sends it with OUTBOX_DELIVERY_BACKEND (console in the demo, SMTP from
EMAIL_URL in production).
"""

from django.core.mail.backends.base import BaseEmailBackend

from outbox.mail import enqueue_message


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            enqueue_message(message)
        return len(email_messages)
