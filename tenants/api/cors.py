"""Platform API: the extra browser origins a tenant's API answers (`/tenants/<slug>/cors-origins/`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.aliases import CONTROL_ALIAS
from core.errors import NotFound
from tenants import cors, operations, selectors, services
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer
from tenants.models import Tenant


class CorsOriginsInputSerializer(serializers.Serializer):
    """The new extra origins (validated strictly in tenants.services)."""

    origins = serializers.ListField(child=serializers.JSONField())


class CorsOriginsSerializer(serializers.Serializer):
    origins = serializers.ListField(child=serializers.CharField(), help_text="Extra origins set by admins.")
    default_origins = serializers.ListField(child=serializers.CharField(),
                                            help_text="The tenant's own https host names, always allowed.")


def _body(tenant: Tenant) -> dict[str, Any]:
    domains = tenant.domains.using(CONTROL_ALIAS).values_list("domain", flat=True)
    return {"origins": list(tenant.cors_origins),
            "default_origins": cors.default_origins(slug=tenant.slug, domains=domains)}


@extend_schema(tags=["platform"])
class TenantCorsOriginsView(APIView):
    """Read or replace the origins, beyond its own domains, whose browsers may call a tenant's API."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_tenant", "put": "tenants.change_tenant"}

    @extend_schema(responses={200: CorsOriginsSerializer, 404: ErrorSerializer})
    def get(self, request: Request, slug: str) -> Response:
        tenant = selectors.tenant_get(slug=slug, primary=True)  # an admin reads back what was just set
        if tenant is None:
            raise NotFound("Tenant not found.")
        return Response(_body(tenant))

    @extend_schema(request=CorsOriginsInputSerializer,
                   responses={200: CorsOriginsSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
                   examples=[OpenApiExample("front ends", request_only=True, value={
                       "origins": ["https://app.acme.test", "http://localhost:5173"]})])
    def put(self, request: Request, slug: str) -> Response:
        data = CorsOriginsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_cors_set(slug=slug, origins=data.validated_data["origins"],
                                          actor=operations.actor_of_request(request))
        return Response(_body(tenant))
