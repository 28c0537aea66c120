"""URLs for the session-interruption tests: the real site plus one view that loses its session."""

import threading

from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path


def lose_session(request):
    # The view changes the session, then another connection (a logout in
    # another tab) deletes its row before the response saves it.
    request.session["last_seen_page"] = request.path
    Session.objects.filter(session_key=request.session.session_key).delete()
    return HttpResponse("done")


def lose_session_to_another_connection(request):
    request.session["last_seen_page"] = request.path
    key = request.session.session_key

    def logout_elsewhere():
        try:
            Session.objects.filter(session_key=key).delete()
        finally:
            connection.close()

    other = threading.Thread(target=logout_elsewhere)
    other.start()
    other.join()
    return HttpResponse("done")


urlpatterns = [
    path("lose-session/", lose_session),
    path("lose-session-elsewhere/", lose_session_to_another_connection),
    path("api/lose-session/", lose_session),
    path("", include("config.urls")),
]
