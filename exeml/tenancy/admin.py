"""The product's admin panel for tenants, flavors and quotas."""

from django.contrib import admin

from exeml.tenancy.models import ApiToken, Flavor, Membership, Quota, Tenant, UsageRecord
from exeml.tenancy.scoping import unscoped


class TenantOwnedAdmin(admin.ModelAdmin):
    """Admin of a tenant-owned model: the panel spans tenants by design, through ``unscoped()``.

    Set ``list_select_related`` for the list's joins.
    """

    def get_queryset(self, request):
        with unscoped():
            qs = self.model.all_tenants.all()
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


class QuotaInline(admin.StackedInline):
    model = Quota
    can_delete = False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [QuotaInline, MembershipInline]


@admin.register(Flavor)
class FlavorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "purpose", "device", "queue", "free", "max_minutes", "price_per_hour", "active"]
    list_filter = ["purpose", "device", "free", "active"]
    list_editable = ["active", "max_minutes", "price_per_hour"]


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = [
        "tenant", "max_projects", "max_storage_bytes", "max_concurrent_trainings",
        "max_running_services", "max_training_minutes_per_month", "max_concurrent_model_jobs",
    ]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "tenant", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantOwnedAdmin):
    list_display = ["tenant", "resource", "resource_name", "flavor", "start", "end", "minutes"]
    list_filter = ["resource", "flavor"]
