from django.contrib import admin

from projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "task_type", "dataset", "created_at"]
    list_filter = ["task_type"]
    search_fields = ["name"]
    raw_id_fields = ["dataset", "created_by"]

    def get_queryset(self, request):
        return Project.all_tenants.select_related("tenant", "dataset")
