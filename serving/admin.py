from django.contrib import admin

from exeml.tenancy.admin import TenantOwnedAdmin
from serving.models import Service


@admin.register(Service)
class ServiceAdmin(TenantOwnedAdmin):
    list_display = ["name", "tenant", "status", "flavor", "stop_at", "invocation_times", "failed_times", "created_at"]
    list_filter = ["status", "flavor"]
    readonly_fields = ["invocation_times", "failed_times"]
    list_select_related = ["tenant", "flavor"]
