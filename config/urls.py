from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("accounts.api_urls")),
    path("api/", include("api.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (admin, API docs).
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg")),
    path("", include("accounts.urls")),
    path("", include("realtime.urls")),
    path("", include("portal.urls")),
    path("", include("payments.urls")),
    path("", include("timetable.urls")),
    path("", include("excuses.urls")),
    path("", include("reports.urls")),
    path("", include("analytics.urls")),
    path("", include("attendance.urls")),
]

# JSON in the API's envelope under /api/, Django's pages elsewhere. Unknown
# /api/ URLs need no handler404: the API's own catch-all route answers them.
handler400 = "api.views.fallback.bad_request"
handler500 = "api.views.fallback.server_error"
