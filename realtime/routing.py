from django.urls import path

from realtime.dashboard import DashboardConsumer
from realtime.device import DeviceConsumer
from realtime.events import EventsConsumer

websocket_urlpatterns = [
    path("ws/device/", DeviceConsumer.as_asgi()),
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
    path("ws/events/", EventsConsumer.as_asgi()),
]
