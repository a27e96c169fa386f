"""The product's admin panel for tenants, flavors and quotas, and the base of every
tenant-owned model's admin.

The admin spans tenants by design, through the one escape, ``unscoped()``: the operator's
admin requests run inside it (``OperatorAdminScopeMiddleware``), the views and the template
rendering after them, where foreign-key choices are read. Everyone else stays fail-closed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.urls import reverse

from exeml.tenancy.models import ApiToken, Flavor, Membership, Quota, Tenant, UsageRecord
from exeml.tenancy.scoping import TenantOwned, unscoped


class OperatorAdminScopeMiddleware:
    """Runs an active staff user's admin request inside ``unscoped()``, response rendering included:
    a TemplateResponse renders after the view returns, so wrapping a view is not enough. Placed
    after the authentication middleware; anyone else's request is left scoped (fail closed)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._prefix: str | None = None

    def __call__(self, request):
        if self._prefix is None:
            self._prefix = reverse("admin:index")
        if request.path_info.startswith(self._prefix):
            user = getattr(request, "user", None)
            if user is not None and user.is_active and user.is_staff:
                with unscoped():
                    return self.get_response(request)
        return self.get_response(request)


def _tenant_owned_values(value: Any) -> list[TenantOwned]:
    values = value if isinstance(value, (QuerySet, list, tuple)) else [value]
    return [v for v in values if isinstance(v, TenantOwned)]


class TenantOwnedForm(forms.ModelForm):
    """Every tenant-owned row a foreign key names must be the row's own tenant's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tenant_id = self.instance.tenant_id
        if tenant_id is None:
            return
        # A change page offers only the row's tenant's rows (the add page cannot know the
        # tenant yet: clean() checks there).
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None and issubclass(queryset.model, TenantOwned):
                field.queryset = queryset.filter(tenant_id=tenant_id)

    def chosen_tenant(self) -> Tenant | None:
        return self.instance.tenant if self.instance.tenant_id else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        tenant = self.chosen_tenant()
        if tenant is None:
            return cleaned
        wrong = {
            name: obj for name, value in cleaned.items() if name != "tenant"
            for obj in _tenant_owned_values(value) if obj.tenant_id != tenant.pk
        }
        for name, obj in wrong.items():
            owner = Tenant.objects.filter(pk=obj.tenant_id).values_list("slug", flat=True).first()
            self.add_error(
                name, f"{obj._meta.verbose_name} “{obj}” belongs to tenant “{owner}”, not to “{tenant.slug}”."
            )
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # The tenant is not a model form field (editable=False), but it is set: keep it in the
        # unique checks, so a (tenant, name) clash is a form error and not an IntegrityError.
        exclude = super()._get_validation_exclusions()
        if self.instance.tenant_id is not None:
            exclude.discard("tenant")
        return exclude


class TenantOwnedAddForm(TenantOwnedForm):
    """The add page: the operator chooses the tenant that owns the new row."""

    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.order_by("slug"),
        help_text="The tenant that owns the new row; every row it refers to must be this tenant's.",
    )

    def chosen_tenant(self) -> Tenant | None:
        return self.cleaned_data.get("tenant")

    def clean(self) -> dict[str, Any]:
        tenant = self.cleaned_data.get("tenant")
        if tenant is not None:
            self.instance.tenant = tenant  # before the model's own validation and unique checks
        return super().clean()


class TenantOwnedAdmin(admin.ModelAdmin):
    """Admin of a tenant-owned model: every tenant's rows (read through ``unscoped()``), a tenant
    column and filter, the tenant chosen on the add page and read-only after, and foreign keys
    checked against that tenant.

    Set ``list_select_related`` for the list's joins (the tenant is added to it).
    """

    form = TenantOwnedForm

    def get_queryset(self, request):
        with unscoped():
            qs = self.model.all_tenants.all()
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if "tenant" not in columns:
            columns.insert(1, "tenant")  # the first column links to the row
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return filters if "tenant" in filters else ["tenant", *filters]

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if isinstance(related, (list, tuple)) and "tenant" not in related:
            return [*related, "tenant"]
        return related

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in super().get_readonly_fields(request, obj) if f != "tenant"]
        return readonly if obj is None else ["tenant", *readonly]  # chosen on add, fixed after

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "tenant"]
        return ["tenant", *dict.fromkeys(fields)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TenantOwnedAddForm
        if "fields" in kwargs:
            fields = kwargs.pop("fields")
        else:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        # The tenant is the form's own field (add) or read-only (change), never the model
        # form's: the model field is editable=False.
        if fields is not None:
            fields = [f for f in fields if f != "tenant"]
        return super().get_form(request, obj, change=change, fields=fields, **kwargs)


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
