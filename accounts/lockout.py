"""What django-axes answers when a username or an address is locked out."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

MESSAGE = (
    "Too many failed sign-ins. Signing in is locked for {minutes} minutes for this "
    "username or this address; ask the office to unlock it sooner."
)


def lockout_message() -> str:
    return MESSAGE.format(minutes=settings.LOGIN_COOLOFF_MINUTES)


def lockout_response(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "locked_out", "detail": lockout_message()}, status=429)
    response = TemplateResponse(
        request, "accounts/locked_out.html", {"message": lockout_message()}, status=429
    )
    return response.render()


# Django's usernames are at most 150 characters; axes keeps what it is given
# in a column of 255, so a longer one made every failed sign-in with it a 500.
USERNAME_MAX = 150


def username_of(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username a sign-in named, from the form or the API's JSON body, as axes
    may store and look it up (no longer than a username can be, no null characters)."""
    if credentials and credentials.get("username"):
        username = credentials["username"]
    elif request.method == "POST":
        username = request.POST.get("username")
    else:
        return None
    if not isinstance(username, str):
        return None
    return username.replace("\x00", "")[:USERNAME_MAX]
