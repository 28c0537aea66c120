import logging

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import timezone

from outbox.mail import KEY_HEADER

logger = logging.getLogger(__name__)

# At most one reset email per login in each window of this many seconds: asking
# again sooner sends nothing new (the first email's link still works), so the
# form cannot be used to flood someone's inbox.
RESET_EMAIL_WINDOW_SECONDS = 600


class SignInForm(AuthenticationForm):
    remember_me = forms.BooleanField(
        required=False, label="Remember me", help_text="Stay signed in on this device."
    )


class SignInCodeForm(forms.Form):
    username = forms.CharField(max_length=150)
    sign_in_code = forms.CharField(max_length=40, label="Sign-in code")

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)


class ResetForm(PasswordResetForm):
    """Also for invited logins that have no password yet (their invitation ran out)."""

    def get_users(self, email):
        User = get_user_model()
        return User.objects.filter(email__iexact=email, is_active=True)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        """PasswordResetForm.send_mail, keyed in the outbox by the login and the window:
        a second request in the same window is the same mail, enqueued once."""
        window = int(timezone.now().timestamp()) // RESET_EMAIL_WINDOW_SECONDS
        key = f"password-reset:{context['user'].pk}:{window}"
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(
            subject, body, from_email, [to_email], headers={KEY_HEADER: key}
        )
        if html_email_template_name is not None:
            html = loader.render_to_string(html_email_template_name, context)
            message.attach_alternative(html, "text/html")
        try:
            message.send()
        except Exception:
            logger.exception("Failed to queue the password reset email to %s", context["user"].pk)
