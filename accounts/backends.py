"""Signing in with a printed one-time code instead of a password.

An authentication backend, so django-axes counts a wrong code as a failed
sign-in and locks out guessing like any password.
"""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.codes import redeem_sign_in_code


class SignInCodeBackend(ModelBackend):
    def authenticate(self, request, username=None, sign_in_code=None, **kwargs):
        if not username or not sign_in_code:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None or not redeem_sign_in_code(user=user, code=sign_in_code):
            return None
        return user


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come with a request.

    Sign-ins without one (a shell, a management command, the test client's
    login()) cannot be remote guessing, which is what the lockout stops.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
