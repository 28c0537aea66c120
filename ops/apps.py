from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations: health, readiness and metrics"

    def ready(self) -> None:
        from ops import metrics

        metrics.register_pool_collector()
