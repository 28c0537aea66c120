from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.navigation import remember_navigation

        user_logged_in.connect(remember_navigation, dispatch_uid="accounts-navigation")
