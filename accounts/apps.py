from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.navigation import remember_navigation
        from accounts.sessions import (
            ending_if_deactivated,
            noting_deactivation,
            record_sign_in,
            signed_out,
        )

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

        # A login made inactive anywhere is signed out everywhere (accounts/sessions.py).
        user = get_user_model()
        pre_save.connect(noting_deactivation, sender=user, dispatch_uid="accounts-deactivating")
        post_save.connect(ending_if_deactivated, sender=user, dispatch_uid="accounts-deactivated")
