from django.contrib import admin

from exeml.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "kind", "status", "progress", "created_at", "finished_at"]
    list_filter = ["kind", "status"]

    def get_queryset(self, request):
        return Job.all_tenants.all()
