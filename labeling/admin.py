from django.contrib import admin

from labeling.models import Annotation, Label


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "tenant", "color", "shortcut", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return Label.all_tenants.select_related("dataset", "tenant")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "sample", "annotated_by", "confidence", "created_by", "created_at"]
    list_filter = ["annotated_by"]
    raw_id_fields = ["sample", "label", "created_by"]

    def get_queryset(self, request):
        return Annotation.all_tenants.select_related("label", "sample")
