from django.apps import AppConfig


def _storage_usage(tenant) -> int:
    from django.db.models import Sum

    from datasets.models import Dataset
    from exeml.tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        return Dataset.objects.aggregate(total=Sum("storage_bytes"))["total"] or 0


class DatasetsConfig(AppConfig):
    name = "datasets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register

        usage_register("max_storage_bytes", _storage_usage)
