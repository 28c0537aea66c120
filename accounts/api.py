"""Signing in through the API: a program trades a username and password for a token,
a browser app for a web session. Both are throttled per address (DRF) and count
towards the lockout (django-axes), like the login page.

Left out of the OpenAPI schema: they take no credentials, so the schema's
fuzzing (which replays every success without credentials) does not apply.
"""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate, login
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from accounts import roles
from accounts.lockout import lockout_message
from api.access import validated
from api.serializers.fields import StrictSerializer, TextField
from attendance.tokens import create_api_token


class SignInThrottle(AnonRateThrottle):
    scope = "sign-in"


class LockedOut(exceptions.APIException):
    status_code = 429
    default_code = "locked_out"


class WrongCredentials(exceptions.APIException):
    # 400, as DRF's own token view answers: the request carried no credentials to
    # challenge (a 401 would need a WWW-Authenticate scheme for this very call).
    status_code = 400
    default_code = "invalid_credentials"


class Credentials(StrictSerializer):
    username = TextField(max_length=150)
    password = TextField(max_length=4096, trim_whitespace=False)


class TokenRequest(Credentials):
    name = TextField(max_length=100, required=False, default="API token")


def _authenticate(request: Request, data: dict):
    try:
        user = authenticate(request._request, username=data["username"], password=data["password"])
    except AxesBackendPermissionDenied:
        raise LockedOut(lockout_message()) from None
    if getattr(request._request, "axes_locked_out", False):
        raise LockedOut(lockout_message())
    if user is None:
        raise WrongCredentials("Wrong username or password.")
    return user


@extend_schema(exclude=True)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([SignInThrottle])
def token_create(request: Request) -> Response:
    data = validated(TokenRequest, request.data)
    user = _authenticate(request, data)
    token, key = create_api_token(user=user, name=data["name"])
    return Response({"token": key, "name": token.name}, status=201)


@extend_schema(exclude=True)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([SignInThrottle])
def session_login(request: Request) -> Response:
    # No session authentication runs here, so CSRF is checked by hand: a login
    # form posted from another site must not sign the browser in.
    check = CSRFCheck(lambda r: None)
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF failed: {reason}")
    data = validated(Credentials, request.data)
    user = _authenticate(request, data)
    login(request._request, user)
    return Response({"username": user.get_username(), "home": roles.home_url(user)})
