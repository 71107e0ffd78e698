"""Platform API: tenants, domains, servers, platform tokens (control plane only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from core.aliases import CONTROL_ALIAS
from core.errors import AuthenticationFailed, NotFound
from core.pagination import filtered_page
from core.tokens import token_issue
from tenants import operations, selectors, services
from tenants.api import filters
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import (
    DomainSerializer,
    ErrorSerializer,
    PlatformTokenSerializer,
    ServerSerializer,
    TenantCreateSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)
from tenants.models import Tenant

# 409 (tenant_exists, invalid_state), 503 queue_unavailable (the broker is down: nothing was changed).
QUEUED_ERRORS = {409: ErrorSerializer, 503: ErrorSerializer}


class PlatformTokenView(APIView):
    """Exchange a platform admin's username and password for an API token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=PlatformTokenSerializer, tags=["platform"],
                   responses={200: {"type": "object"}, 401: ErrorSerializer, 429: ErrorSerializer},
                   examples=[OpenApiExample("sign in", value={"username": "admin", "password": "secret"})])
    def post(self, request: Request) -> Response:
        serializer = PlatformTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None or not user.is_staff:
            raise AuthenticationFailed()
        return Response({"token": token_issue(user=user, using=CONTROL_ALIAS).key})


_actor = operations.actor_of_request  # who the audit log names for a platform action


def _tenant_response(tenant: Tenant, status_code: int = 200, **extra: Any) -> Response:
    tenant = selectors.tenant_with_domains(pk=tenant.pk)
    return Response({**TenantSerializer(tenant).data, **extra}, status=status_code)


@extend_schema(tags=["platform"])
class TenantViewSet(ViewSet):
    """Provision, list, inspect, suspend, resume, retry and delete tenants."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {
        "list": "tenants.view_tenant", "retrieve": "tenants.view_tenant", "create": "tenants.add_tenant",
        "update": "tenants.change_tenant", "partial_update": "tenants.change_tenant",
        "retry": "tenants.change_tenant", "destroy": "tenants.delete_tenant",
        "suspend": "tenants.suspend_tenant", "resume": "tenants.resume_tenant",
        "domains": "tenants.add_domain", "remove_domain": "tenants.delete_domain",
    }
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"

    search_fields = filters.SEARCH_FIELDS
    pagination_class = filters.TenantPagination

    @extend_schema(parameters=filters.PARAMETERS, responses=TenantSerializer(many=True))
    def list(self, request: Request) -> Response:
        return filtered_page(request, self, selectors.tenant_list_all(), filters.TenantFilter, TenantSerializer)

    @extend_schema(request=TenantCreateSerializer,
                   responses={202: TenantSerializer, 400: ErrorSerializer, **QUEUED_ERRORS},
                   examples=[OpenApiExample("new tenant", request_only=True, value={
                       "slug": "acme", "name": "Acme Inc.", "admin_email": "owner@acme.test", "plan": "pro"})])
    def create(self, request: Request) -> Response:
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant, generated = services.tenant_create(**serializer.validated_data, actor=_actor(request))
        extra = {"admin_password": generated} if generated else {}
        return _tenant_response(tenant, status.HTTP_202_ACCEPTED, **extra)

    @extend_schema(responses=TenantSerializer)
    def retrieve(self, request: Request, slug: str) -> Response:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise NotFound("Tenant not found.")
        return _tenant_response(tenant)

    @extend_schema(request=TenantUpdateSerializer, responses={200: TenantSerializer, 400: ErrorSerializer,
                                                             404: ErrorSerializer})
    def partial_update(self, request: Request, slug: str) -> Response:
        serializer = TenantUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = selectors.tenant_get(slug=slug, primary=True)
        if tenant is None:
            raise NotFound("Tenant not found.")
        changes = {"name": tenant.name, "plan": tenant.plan, **serializer.validated_data}
        return _tenant_response(services.tenant_update(slug=slug, **changes, actor=_actor(request)))

    @extend_schema(request=None, responses={202: TenantSerializer, **QUEUED_ERRORS})
    def destroy(self, request: Request, slug: str) -> Response:
        tenant = services.tenant_delete(slug=slug, actor=_actor(request))
        return _tenant_response(tenant, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: TenantSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, slug: str) -> Response:
        return _tenant_response(services.tenant_suspend(slug=slug, actor=_actor(request)))

    @extend_schema(request=None, responses={200: TenantSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, slug: str) -> Response:
        return _tenant_response(services.tenant_resume(slug=slug, actor=_actor(request)))

    @extend_schema(request=None, responses={202: TenantSerializer, **QUEUED_ERRORS})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, slug: str) -> Response:
        return _tenant_response(services.tenant_retry(slug=slug, actor=_actor(request)), status.HTTP_202_ACCEPTED)

    @extend_schema(request=DomainSerializer, responses={201: TenantSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def domains(self, request: Request, slug: str) -> Response:
        serializer = DomainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.domain_add(slug=slug, domain=serializer.validated_data["domain"],
                                 actor=_actor(request))
        return _tenant_response(row.tenant, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path="domains/(?P<domain>[^/]+)")
    def remove_domain(self, request: Request, slug: str, domain: str) -> Response:
        services.domain_remove(slug=slug, domain=domain, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["platform"], responses=ServerSerializer(many=True))
class ServerListView(APIView):
    """Database servers with live tenant counts and replica lag."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_databaseserver"}

    def get(self, request: Request) -> Response:
        loads = selectors.server_loads()
        rows = []
        for server in selectors.server_list():
            server.tenant_count = loads.get(server.name, 0)  # type: ignore[attr-defined]
            server.replica_lag_seconds = selectors.replica_lags(  # type: ignore[attr-defined]
                server=server.name, replicas=server.replicas)
            rows.append(server)
        return Response(ServerSerializer(rows, many=True).data)

