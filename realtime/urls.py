from django.urls import path

from realtime import views

urlpatterns = [
    path("device/", views.device_page, name="device"),
    path("device/register/", views.device_register, name="device-register"),
]
