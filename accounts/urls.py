from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views

account_patterns = (
    [
        path("home/", views.home, name="home"),
        path("sessions/", views.session_list, name="sessions"),
        path("sessions/<int:session_id>/end/", views.session_end, name="session-end"),
        path("sessions/end-others/", views.session_end_others, name="session-end-others"),
        path("session/status/", views.session_status, name="session-status"),
        path("session/extend/", views.session_extend, name="session-extend"),
        path("password/", views.PasswordChangeView.as_view(), name="password-change"),
        path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
        path(
            "password/reset/sent/",
            auth_views.PasswordResetDoneView.as_view(
                template_name="accounts/password_reset_done.html"
            ),
            name="password-reset-done",
        ),
        path(
            "password/reset/<uidb64>/<token>/",
            views.PasswordResetConfirmView.as_view(),
            name="password-reset-confirm",
        ),
        path(
            "password/reset/done/",
            auth_views.PasswordResetCompleteView.as_view(
                template_name="accounts/password_reset_complete.html"
            ),
            name="password-reset-complete",
        ),
        path("welcome/<str:token>/", views.invitation_accept, name="invitation"),
    ],
    "accounts",
)

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.sign_in_with_code, name="login-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include(account_patterns)),
]
