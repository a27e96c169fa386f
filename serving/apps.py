from django.apps import AppConfig


class ServingConfig(AppConfig):
    name = "serving"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register
        from serving.assist import running_model_jobs
        from serving.models import ACTIVE_STATUSES, Service

        usage_register(
            "max_running_services",
            lambda tenant: Service.all_tenants.filter(tenant=tenant, status__in=ACTIVE_STATUSES).count(),
        )
        usage_register("max_concurrent_model_jobs", running_model_jobs)
