from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("attendance.api.urls")),
    path("", include("realtime.urls")),
    path("", include("payments.urls")),
    path("", include("attendance.urls")),
]
