"""drf-spectacular extensions: document the two auth schemes (imported by exeml.urls)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "exeml.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        # X-Auth-Token (ModelArts style) is accepted too; OpenAPI lists one header per scheme.
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Token <key> (or the X-Auth-Token: <key> header)"}


class CachedApiTokenScheme(ApiTokenScheme):
    """The inference endpoint's token check (cached per web process): the same header."""

    target_class = "exeml.api.authentication.CachedApiTokenAuthentication"
    name = "inferenceTokenAuth"


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "exeml.api.authentication.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}

