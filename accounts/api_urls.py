from django.urls import path

from accounts import api

urlpatterns = [
    path("token/", api.token_create, name="api-token"),
    path("login/", api.session_login, name="api-login"),
]
