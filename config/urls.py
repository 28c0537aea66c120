from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("attendance.api.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (admin, API docs).
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg")),
    path("", include("realtime.urls")),
    path("", include("payments.urls")),
    path("", include("attendance.urls")),
]
