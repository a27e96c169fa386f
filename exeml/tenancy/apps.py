from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "exeml.tenancy"
    label = "tenancy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy import signals

        signals.connect()
