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
        from django.conf import settings
        from PIL import Image

        from datasets.formats.images import max_image_pixels
        from exeml.tenancy.services import usage_register

        usage_register("max_storage_bytes", _storage_usage)
        # Pillow's own decompression-bomb guard, for every decode in the process (imports,
        # training, serving): from the image size limit, like the imports' header check (it
        # warns above the limit and refuses twice that). Pillow's default, 89 MP, let a 139 KB
        # PNG of 49 MP cost seconds of CPU.
        Image.MAX_IMAGE_PIXELS = max_image_pixels(int(settings.EXEML_LIMITS["image_max_bytes"]))
