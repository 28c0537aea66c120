from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.navigation import remember_navigation
        from accounts.sessions import record_sign_in, signed_out

        user_logged_in.connect(remember_navigation, dispatch_uid="accounts-navigation")

        def track(sender, request, user, **kwargs):
            if request is not None and hasattr(request, "session"):
                record_sign_in(request=request, user=user)

        user_logged_in.connect(track, dispatch_uid="accounts-track-sessions", weak=False)

        def close_sockets(sender, request, user, **kwargs):
            key = getattr(getattr(request, "session", None), "session_key", None)
            if key:
                signed_out([key])

        user_logged_out.connect(close_sockets, dispatch_uid="accounts-close-sockets", weak=False)
