"""Small things the pages of several apps share."""

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def back_to(request: HttpRequest, target: str, fallback: str) -> HttpResponseRedirect:
    """A redirect to `target` if it is a path on this site (a form's `next`), else to
    `fallback`. Not through django.shortcuts.redirect(), which takes a bare word
    ("abc") for the name of a URL pattern and fails to reverse it: a 500, after
    the form's change was saved."""
    if not (
        target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        target = fallback
    return HttpResponseRedirect(target)
