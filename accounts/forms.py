from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm


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
