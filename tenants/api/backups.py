"""Platform API: backups, restores, clones and the jobs that run them (thin views over tenants.backups/restores)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError, CoreErrorCode
from tenants import backups, operations, restores, selectors
from tenants.api.move import JobSerializer
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer, TenantSerializer
from tenants.models import Backup, ProvisioningJob, Tenant

ERRORS = {400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 503: ErrorSerializer}


class BackupSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)

    class Meta:
        model = Backup
        fields = ["id", "status", "size", "checksum", "created_at", "finished_at", "expires_at", "requested_by",
                  "error", "server", "database", "job"]
        read_only_fields = fields


class NewTenantSerializer(serializers.Serializer):
    """`{"as": "<new slug>"}`, optionally `server` and `name` (`as` is a Python keyword: added by hand)."""

    server = serializers.CharField(required=False, max_length=31)
    name = serializers.CharField(required=False, max_length=200)
    slug_required = True

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["as"] = serializers.CharField(required=self.slug_required, max_length=100)
        return fields


class RestoreSerializer(NewTenantSerializer):
    """Either `{"as": "<new slug>"}` or `{"in_place": true}`."""

    in_place = serializers.BooleanField(required=False, default=False)
    slug_required = False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("as")) == bool(attrs["in_place"]):
            raise serializers.ValidationError('Give either "as" (a new tenant\'s slug) or "in_place": true.')
        if attrs["in_place"] and (attrs.get("server") or attrs.get("name")):
            raise serializers.ValidationError('"server" and "name" apply to a new tenant only.')
        return attrs


def _tenant(slug: str) -> Tenant:
    tenant = selectors.tenant_get(slug=slug, primary=True)
    if tenant is None:
        raise ApiError("Tenant not found.", code=CoreErrorCode.NOT_FOUND, status_code=404)
    return tenant


def _job_response(job: ProvisioningJob) -> Response:
    tenant = Tenant.objects.using(CONTROL_ALIAS).prefetch_related("domains").get(pk=job.tenant_id)
    return Response({"job": JobSerializer(job).data, "tenant": TenantSerializer(tenant).data},
                    status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["platform"])
class BackupListView(APIView):
    """List a tenant's backups, or take one now."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_backup", "post": "tenants.add_backup"}

    @extend_schema(responses=BackupSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return Response(BackupSerializer(selectors.backups_of(tenant=_tenant(slug)), many=True).data)

    @extend_schema(request=None, responses={202: BackupSerializer, **ERRORS})
    def post(self, request: Request, slug: str) -> Response:
        backup = backups.backup_create(tenant=_tenant(slug), requested_by=operations.actor_of_request(request))
        backup = Backup.objects.using(CONTROL_ALIAS).select_related("job").get(pk=backup.pk)
        return Response(BackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["platform"], responses={200: BackupSerializer, 404: ErrorSerializer})
class BackupDetailView(APIView):
    """One backup of a tenant (another tenant's backup id is not found)."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_backup"}

    def get(self, request: Request, slug: str, backup_id: int) -> Response:
        backup = selectors.backup_of(tenant=_tenant(slug), backup_id=backup_id)
        if backup is None:
            raise ApiError("Backup not found.", code=CoreErrorCode.NOT_FOUND, status_code=404)
        return Response(BackupSerializer(backup).data)


@extend_schema(tags=["platform"])
class BackupRestoreView(APIView):
    """Restore a backup into a new tenant (`as`) or over the tenant itself (`in_place`)."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"post": "tenants.restore_backup"}

    @extend_schema(request=RestoreSerializer, responses={202: JobSerializer, **ERRORS}, examples=[
        OpenApiExample("as a new tenant", request_only=True, value={"as": "acme-sandbox"}),
        OpenApiExample("in place", request_only=True, value={"in_place": True})])
    def post(self, request: Request, slug: str, backup_id: int) -> Response:
        serializer = RestoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, tenant, actor = serializer.validated_data, _tenant(slug), operations.actor_of_request(request)
        if data["in_place"]:
            job = restores.restore_in_place(tenant=tenant, backup_id=backup_id, requested_by=actor)
        else:
            job = restores.restore_as_new(tenant=tenant, backup_id=backup_id, slug=data["as"], requested_by=actor,
                                          server=data.get("server"), name=data.get("name"))
        return _job_response(job)


@extend_schema(tags=["platform"])
class TenantCloneView(APIView):
    """Copy a live tenant into a new tenant (staging, support) with its own database and no tokens."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"post": "tenants.clone_tenant"}

    @extend_schema(request=NewTenantSerializer, responses={202: JobSerializer, **ERRORS},
                   examples=[OpenApiExample("clone", request_only=True, value={"as": "acme-staging"})])
    def post(self, request: Request, slug: str) -> Response:
        serializer = NewTenantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = restores.clone_create(tenant=_tenant(slug), slug=data["as"], server=data.get("server"),
                                    name=data.get("name"), requested_by=operations.actor_of_request(request))
        return _job_response(job)
