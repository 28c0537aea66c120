from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.navigation import remember_navigation
        from accounts.sessions import record_sign_in

        user_logged_in.connect(remember_navigation, dispatch_uid="accounts-navigation")

        def track(sender, request, user, **kwargs):
            if request is not None and hasattr(request, "session"):
                record_sign_in(request=request, user=user)

        user_logged_in.connect(track, dispatch_uid="accounts-track-sessions", weak=False)
