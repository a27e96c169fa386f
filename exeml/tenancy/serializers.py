from __future__ import annotations

from rest_framework import serializers

from exeml.tenancy.models import ApiToken, Flavor, UsageRecord
from exeml.tenancy.roles import Capability, Role, role_allows


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    tenant = serializers.SlugField(required=False, help_text="Tenant slug when the user belongs to several.")


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=256, trim_whitespace=False)
    new_password = serializers.CharField(
        trim_whitespace=False,
        help_text="At least 10 characters (EXEML_PASSWORD_MIN_LENGTH), not all digits, not a common password, "
        "not like the username; at most 256.",
    )


class LogoutSerializer(serializers.Serializer):
    revoke_token = serializers.BooleanField(required=False, default=False)


class FlavorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flavor
        fields = ["code", "name", "purpose", "device", "queue", "free", "max_minutes", "task_types", "price_per_hour"]


class UsageRecordSerializer(serializers.ModelSerializer):
    flavor = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = UsageRecord
        fields = ["id", "resource", "resource_id", "resource_name", "flavor", "start", "end", "minutes"]


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    tenant = serializers.CharField(help_text="the tenant's slug")
    user = serializers.CharField(help_text="the username")


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its key nor the key's hash."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What or who uses the token (a script, a machine); shown in the list.",
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just created: the only answer that holds its key."""

    key = serializers.CharField(
        read_only=True,
        help_text="The token itself (send it as X-Auth-Token or 'Authorization: Token …'). "
        "Shown in this response only: it is stored as a hash and cannot be read again.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class MeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class MeTenantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    storage_roots = serializers.ListField(child=serializers.CharField())


class MeSerializer(serializers.Serializer):
    """Schema of :func:`me_payload`."""

    user = MeUserSerializer()
    tenant = MeTenantSerializer()
    role = serializers.ChoiceField(choices=Role.values)
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=Capability.values),
        help_text="what this role may do (docs/roles.md): the console shows only the actions it allows",
    )


class QuotaSerializer(serializers.Serializer):
    quota = serializers.CharField()
    limit = serializers.FloatField(allow_null=True)
    used = serializers.FloatField()


def me_payload(membership) -> dict:
    tenant = membership.tenant
    return {
        "user": {"id": membership.user.pk, "username": membership.user.username},
        "tenant": {"id": str(tenant.pk), "slug": tenant.slug, "name": tenant.name, "storage_roots": tenant.storage_roots},
        "role": membership.role,
        "capabilities": [c.value for c in Capability if role_allows(membership.role, c)],
    }


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.values)
    joined_at = serializers.DateTimeField(source="created_at")


class MemberInviteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.values)
    password = serializers.CharField(max_length=256, required=False, allow_blank=True, write_only=True,
                                     help_text="only for a new account; an existing one joins with its own")


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)
