"""The product's admin panel for tenants, flavors and quotas."""

from django import forms
from django.conf import settings
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


def _import_limits(obj=None) -> str:
    limits = settings.EXEML_LIMITS
    return (
        f"{limits['text_max_lines_per_file']:,} lines per text/CSV file (EXEML_TEXT_MAX_LINES_PER_FILE); "
        f"{limits['max_samples_per_dataset']:,} samples per dataset unless the quota says otherwise "
        f"(EXEML_MAX_SAMPLES_PER_DATASET)"
    )


class QuotaInline(admin.StackedInline):
    model = Quota
    can_delete = False
    readonly_fields = ["platform_import_limits"]

    @admin.display(description="Platform import limits")
    def platform_import_limits(self, obj=None) -> str:
        return _import_limits(obj)


class TenantForm(forms.ModelForm):
    """The storage secret key is write-only: never rendered, kept when left empty."""

    s3_secret_key = forms.CharField(
        required=False, label="S3 secret key", strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted and never shown. Leave empty to keep the current key.",
    )
    clear_s3_secret_key = forms.BooleanField(required=False, label="Remove the stored S3 secret key")

    class Meta:
        model = Tenant
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initial["s3_secret_key"] = ""  # never sent to the browser, not even hidden

    def clean_s3_secret_key(self) -> str:
        given = self.cleaned_data.get("s3_secret_key") or ""
        if self.data.get(self.add_prefix("clear_s3_secret_key")):
            return ""
        return given or (self.instance.s3_secret_key if self.instance.pk else "")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
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
        "max_samples_per_dataset", "max_running_trainings_per_project",
    ]
    readonly_fields = ["platform_import_limits"]

    @admin.display(description="Platform import limits")
    def platform_import_limits(self, obj=None) -> str:
        return _import_limits(obj)


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
