from django.contrib import admin

from datasets.models import Annotation, Dataset, Label, Sample, SourceObject
from exeml.tenancy.admin import TenantOwnedAdmin


@admin.register(Dataset)
class DatasetAdmin(TenantOwnedAdmin):
    list_display = ["name", "tenant", "task_type", "input_path", "storage_bytes", "created_at"]
    list_filter = ["task_type"]
    search_fields = ["name", "input_path"]
    raw_id_fields = ["last_sync_job"]
    list_select_related = ["tenant"]


@admin.register(SourceObject)
class SourceObjectAdmin(TenantOwnedAdmin):
    list_display = ["key", "dataset", "status", "size", "seen_at"]
    list_filter = ["status"]
    search_fields = ["key"]
    raw_id_fields = ["dataset"]
    list_select_related = ["dataset"]


@admin.register(Sample)
class SampleAdmin(TenantOwnedAdmin):
    list_display = ["name", "dataset", "status", "labeled", "line_number", "created_at"]
    list_filter = ["status", "labeled"]
    search_fields = ["name", "source"]
    raw_id_fields = ["dataset", "source_object"]
    list_select_related = ["dataset"]


@admin.register(Label)
class LabelAdmin(TenantOwnedAdmin):
    list_display = ["name", "dataset", "tenant", "color", "shortcut", "created_at"]
    search_fields = ["name"]
    list_select_related = ["dataset", "tenant"]


@admin.register(Annotation)
class AnnotationAdmin(TenantOwnedAdmin):
    list_display = ["id", "label", "sample", "annotated_by", "confidence", "created_by", "created_at"]
    list_filter = ["annotated_by"]
    raw_id_fields = ["sample", "label", "created_by"]
    list_select_related = ["label", "sample"]
