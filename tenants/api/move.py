"""Platform API: move a tenant to another server, and follow its jobs (progress steps)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from tenants import operations, selectors, services
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer
from tenants.models import ProvisioningJob

JOB_LIST_MAX = 50


class MoveSerializer(serializers.Serializer):
    server = serializers.CharField(max_length=31)


class JobSerializer(serializers.ModelSerializer):
    """A job with its progress: the steps it finished, and for a move its plan and figures."""

    tenant = serializers.CharField(source="tenant.slug", read_only=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = ProvisioningJob
        fields = ["id", "tenant", "kind", "status", "steps_done", "attempts", "requested_by", "error", "payload",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_payload(self, job: ProvisioningJob) -> dict[str, object]:
        # A provisioning's payload holds the admin's password hash: never shown.
        return dict(job.payload) if job.kind == "move" else {}


@extend_schema(tags=["platform"])
class TenantMoveView(APIView):
    """Move a tenant's database to another server while it keeps serving (202 with the job)."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"post": "tenants.move_tenant"}

    @extend_schema(request=MoveSerializer, responses={202: JobSerializer, 400: ErrorSerializer, 404: ErrorSerializer,
                                                      409: ErrorSerializer, 503: ErrorSerializer},
                   examples=[OpenApiExample("move to b", request_only=True, value={"server": "b"})])
    def post(self, request: Request, slug: str) -> Response:
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.tenant_move(slug=slug, server=serializer.validated_data["server"],
                                   requested_by=operations.actor_of_request(request))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["platform"], responses=JobSerializer(many=True))
class TenantJobListView(APIView):
    """The tenant's latest jobs (provisioning, moves, deletion), newest first."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_provisioningjob"}

    def get(self, request: Request, slug: str) -> Response:
        tenant = selectors.tenant_get(slug=slug, primary=True)
        if tenant is None:
            raise NotFound("Tenant not found.")
        jobs = selectors.jobs_of(tenant=tenant).select_related("tenant")
        return Response(JobSerializer(jobs[:JOB_LIST_MAX], many=True).data)


@extend_schema(tags=["platform"], responses={200: JobSerializer, 404: ErrorSerializer})
class JobDetailView(APIView):
    """One job and its progress."""

    permission_classes = [IsPlatformAdmin]
    required_permissions = {"get": "tenants.view_provisioningjob"}

    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(pk=job_id)
        if job is None:
            raise NotFound("Job not found.")
        return Response(JobSerializer(job).data)
