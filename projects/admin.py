from django.contrib import admin

from exeml.tenancy.admin import TenantOwnedAdmin
from projects.models import Project


@admin.register(Project)
class ProjectAdmin(TenantOwnedAdmin):
    list_display = ["name", "tenant", "task_type", "dataset", "created_at"]
    list_filter = ["task_type"]
    search_fields = ["name"]
    raw_id_fields = ["dataset", "created_by"]
    list_select_related = ["tenant", "dataset"]
