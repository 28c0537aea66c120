from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _fees_office_group(sender, **kwargs) -> None:
    # After every migrate, so the role exists on a fresh install without the demo.
    from payments.permissions import ensure_fees_office_group

    ensure_fees_office_group()


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "School fees"

    def ready(self) -> None:
        post_migrate.connect(_fees_office_group, sender=self)
