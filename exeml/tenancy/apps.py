from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "exeml.tenancy"
    label = "tenancy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from exeml import checks as exeml_checks
        from exeml.tenancy import signals

        signals.connect()
        # The project's own checks (exeml/ has no app of its own; tenancy is its first).
        checks.register(exeml_checks.distributed_state)
