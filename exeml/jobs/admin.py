from django.contrib import admin

from exeml.jobs.models import Job
from exeml.tenancy.admin import TenantOwnedAdmin


@admin.register(Job)
class JobAdmin(TenantOwnedAdmin):
    list_display = ["id", "tenant", "kind", "status", "progress", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
