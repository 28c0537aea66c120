from django.urls import path

from excuses import views

app_name = "excuses"
urlpatterns = [
    path("excuses/", views.queue, name="queue"),
    path("excuses/<int:excuse_id>/", views.detail, name="detail"),
    path("excuses/<int:excuse_id>/decide/", views.decide, name="decide"),
    path("excuses/<int:excuse_id>/attachment/", views.attachment, name="attachment"),
    path("me/excuses/", views.mine, name="mine"),
    path("me/excuses/new/<int:record_id>/", views.new, name="new"),
]
