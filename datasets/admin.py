from django.contrib import admin

from datasets.models import Dataset, Sample, SourceObject


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "task_type", "input_path", "storage_bytes", "created_at"]
    list_filter = ["task_type"]
    search_fields = ["name", "input_path"]
    raw_id_fields = ["last_sync_job"]

    def get_queryset(self, request):
        return Dataset.all_tenants.select_related("tenant")


@admin.register(SourceObject)
class SourceObjectAdmin(admin.ModelAdmin):
    list_display = ["key", "dataset", "status", "size", "seen_at"]
    list_filter = ["status"]
    search_fields = ["key"]
    raw_id_fields = ["dataset"]

    def get_queryset(self, request):
        return SourceObject.all_tenants.select_related("dataset")


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "status", "labeled", "line_number", "created_at"]
    list_filter = ["status", "labeled"]
    search_fields = ["name", "source"]
    raw_id_fields = ["dataset", "source_object"]

    def get_queryset(self, request):
        return Sample.all_tenants.select_related("dataset")
