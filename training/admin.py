"""Training versions in the admin: read mostly; status changes belong to the services."""

from django.contrib import admin

from exeml.tenancy.admin import TenantOwnedAdmin
from training.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(TenantOwnedAdmin):
    list_display = ["name", "project", "tenant", "status", "phase", "progress", "flavor", "worker", "created_at"]
    list_filter = ["status", "queue"]
    search_fields = ["name", "project__name"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    list_select_related = ["project", "tenant", "flavor"]

    def has_add_permission(self, request) -> bool:
        # A version is made by training (train → run), never by hand: every field is read-only.
        return False
