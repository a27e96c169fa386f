"""Auth (token, console session), a user's own API tokens, me, flavors, quotas, usage."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.authentication import CSRFCheck, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from exeml.api.pagination import CatalogPagination, page_of
from exeml.api.permissions import ACCOUNT, MANAGE, TOKENS
from exeml.api.throttling import AuthThrottle
from exeml.api.views import SESSION_TENANT_KEY, TenantAPIView, TenantModelViewSet, TenantReadOnlyViewSet
from exeml.tenancy import members, selectors, services
from exeml.tenancy.models import ApiToken, Flavor, Membership, UsageRecord
from exeml.tenancy.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    CredentialsSerializer,
    FlavorSerializer,
    LogoutSerializer,
    MemberInviteSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    QuotaSerializer,
    TokenResponseSerializer,
    UsageRecordSerializer,
    me_payload,
)


def _membership_for_login(data) -> Membership:
    user = authenticate(username=data["username"], password=data["password"])
    if user is None or not user.is_active:
        raise AuthenticationFailed("Wrong username or password.")
    memberships = Membership.objects.select_related("tenant", "user").filter(user=user).order_by("created_at")
    if data.get("tenant"):
        memberships = memberships.filter(tenant__slug=data["tenant"])
    membership = memberships.first()
    if membership is None:
        raise AuthenticationFailed("This user is not a member of any tenant.")
    return membership


class PublicAPIView(APIView):
    """Endpoints reachable before authentication (the router test knows them)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        # Wrong credentials are a 401 (DRF answers 403 without this header).
        return "Token"


class CredentialsView(PublicAPIView):
    """Takes a username and password; rate limited against password guessing."""

    throttle_classes = [AuthThrottle]

    def membership_from_credentials(self, request) -> Membership:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _membership_for_login(serializer.validated_data)


class TokenCreateView(CredentialsView):
    @extend_schema(request=CredentialsSerializer, responses={201: TokenResponseSerializer})
    def post(self, request):
        membership = self.membership_from_credentials(request)
        key = services.token_issue(user=membership.user, tenant=membership.tenant, name="api")
        return Response(
            {"token": key, "tenant": membership.tenant.slug, "user": membership.user.username},
            status=status.HTTP_201_CREATED,
        )


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfView(PublicAPIView):
    @extend_schema(responses={204: None})
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


def _enforce_csrf(request) -> None:
    """Login CSRF: a cross-site form must not sign the victim in to the attacker's account.
    The console reads the cookie from GET auth/csrf and sends it back as X-CSRFToken."""
    check = CSRFCheck(lambda req: None)
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})
    if reason:
        raise PermissionDenied(f"CSRF failed: {reason}")


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionLoginView(CredentialsView):
    @extend_schema(request=CredentialsSerializer, responses={200: MeSerializer})
    def post(self, request):
        _enforce_csrf(request)
        membership = self.membership_from_credentials(request)
        login(request._request, membership.user)
        request.session[SESSION_TENANT_KEY] = str(membership.tenant_id)
        return Response(me_payload(membership))


class SessionLogoutView(TenantAPIView):
    capabilities = ACCOUNT
    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request):
        shape = LogoutSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        # Asked to, the token this request came with stops working too (SDK/CLI logout).
        if shape.validated_data["revoke_token"] and isinstance(request.auth, ApiToken):
            request.auth.revoke()
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def check_permissions(self, request):
        # Logging out is allowed for any signed-in user, viewers included.
        if not request.user.is_authenticated:
            super().check_permissions(request)


class PasswordChangeView(TenantAPIView):
    """The signed-in user changes their own password (console session or token)."""

    capabilities = ACCOUNT

    # Every try counts against the address, as logins do: the current password is guessable here.
    throttle_classes = [AuthThrottle]

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        shape = PasswordChangeSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        services.password_change(user=request.user, **shape.validated_data)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # This console session stays signed in; the user's other sessions end.
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def check_permissions(self, request):
        # Any member changes their own password, viewers included.
        if not request.user.is_authenticated:
            super().check_permissions(request)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, TenantModelViewSet):
    """The signed-in user's own API tokens in the current tenant: list, create (the key shown
    once), revoke. Another user's or tenant's token is a 404."""

    serializer_class = ApiTokenSerializer
    # A token carries only its owner's rights, so viewers manage their own too (labelers
    # do not: they work in the console, docs/roles.md).
    capabilities = TOKENS

    def safely_get_queryset(self):
        return selectors.token_list(user=self.request.user, tenant=self.request.tenant)

    @extend_schema(description="Your tokens in this tenant, newest first, revoked ones included; never a key.")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer},
        description=f"A new token named `name` (required, at most {services.TOKEN_NAME_MAX_LENGTH} characters); "
        f"the answer holds its `key`, shown this once. At most {services.TOKENS_LIVE_MAX} live tokens per user "
        "and tenant (400 `too_many_tokens`).",
    )
    def create(self, request):
        shape = ApiTokenCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        token, key = services.token_create(user=request.user, tenant=request.tenant, **shape.validated_data)
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: None},
        description="Revokes the token at once (204, again too); the row stays listed with `revoked_at`. "
        "Another user's or tenant's token: 404.",
    )
    def destroy(self, request, *args, **kwargs):
        # Revoked, not deleted: the row keeps when it was made, last used and revoked.
        services.token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(TenantAPIView):
    capabilities = ACCOUNT

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(me_payload(request.membership))


class QuotaView(TenantAPIView):
    pagination_class = CatalogPagination

    @extend_schema(responses={200: page_of(QuotaSerializer)})
    def get(self, request):
        # A list like any other: the page shape (one page holds every quota).
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(services.quota_summary(tenant=request.tenant), request, view=self)
        return paginator.get_paginated_response(rows)


class FlavorViewSet(TenantReadOnlyViewSet):
    serializer_class = FlavorSerializer
    pagination_class = CatalogPagination
    lookup_field = "code"
    lookup_value_converter = "slug"

    def safely_get_queryset(self):
        qs = Flavor.objects.filter(active=True)
        purpose = self.request.query_params.get("purpose")
        if purpose:
            qs = qs.filter(purpose=purpose)
        return qs


class UsageViewSet(TenantReadOnlyViewSet):
    serializer_class = UsageRecordSerializer

    def safely_get_queryset(self):
        return UsageRecord.objects.select_related("flavor").all()


class MemberListView(TenantAPIView):
    pagination_class = CatalogPagination
    capabilities = {"POST": MANAGE}

    @extend_schema(responses={200: page_of(MemberSerializer)})
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(members.member_list(tenant=request.tenant), request, view=self)
        return paginator.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        request=MemberInviteSerializer, responses={201: MemberSerializer},
        description="Add a member: an existing account by its username, or a new account (then `password` is "
        "required). Only an owner grants the owner role.",
    )
    def post(self, request):
        shape = MemberInviteSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        membership = members.member_invite(actor=request.membership, **shape.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(TenantAPIView):
    capabilities = MANAGE

    @extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer})
    def patch(self, request, username):
        shape = MemberRoleSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        membership = members.member_role_set(actor=request.membership, username=username, **shape.validated_data)
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None},
                   description="Remove a member: their work stays, their tokens stop, their open tasks lose them.")
    def delete(self, request, username):
        members.member_remove(actor=request.membership, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
