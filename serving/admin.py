from django.contrib import admin

from serving.models import Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "status", "flavor", "stop_at", "invocation_times", "failed_times", "created_at"]
    list_filter = ["status", "flavor"]
    readonly_fields = ["invocation_times", "failed_times"]

    def get_queryset(self, request):
        return Service.all_tenants.select_related("tenant", "flavor")
