from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("me/", views.me, name="me"),
    path("me/sessions/", views.my_sessions, name="sessions"),
    path("me/devices/", views.my_devices, name="devices"),
    path("me/devices/<int:device_id>/replace/", views.device_replace, name="device-replace"),
    path("students/<int:student_id>/devices/", views.student_devices, name="student-devices"),
]
