"""URLs for the session-interruption tests: the real site plus one view that loses its session."""

from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.urls import include, path


def lose_session(request):
    # The view changes the session, then another connection (a logout in
    # another tab) deletes its row before the response saves it.
    request.session["last_seen_page"] = request.path
    Session.objects.filter(session_key=request.session.session_key).delete()
    return HttpResponse("done")


urlpatterns = [
    path("lose-session/", lose_session),
    path("api/lose-session/", lose_session),
    path("", include("config.urls")),
]
