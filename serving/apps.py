from django.apps import AppConfig


def _running_services(tenant) -> int:
    from exeml.tenancy.scoping import tenant_scope
    from serving.models import ACTIVE_STATUSES, Service

    with tenant_scope(tenant):
        return Service.objects.filter(status__in=ACTIVE_STATUSES).count()


class ServingConfig(AppConfig):
    name = "serving"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register
        from serving.model_jobs import running_model_jobs

        usage_register("max_running_services", _running_services)
        usage_register("max_concurrent_model_jobs", running_model_jobs)
