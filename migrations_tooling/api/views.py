"""Platform API for fleet migration runs: start (async), list, detail, resume, drift."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from core.errors import NotFound
from core.pagination import filtered_page
from migrations_tooling import runner, selectors, services
from migrations_tooling.api import filters
from migrations_tooling.models import MigrationRecord, MigrationRun
from tenants import operations
from tenants.api.permissions import IsPlatformAdmin
from tenants.api.serializers import ErrorSerializer


def _default_parallel() -> int:
    return int(settings.MIGRATE_PARALLEL)


class RunRequestSerializer(serializers.Serializer):
    parallel = serializers.IntegerField(min_value=1, max_value=32, default=_default_parallel)
    tenants = serializers.ListField(child=serializers.CharField(max_length=40), default=list)
    exclude = serializers.ListField(child=serializers.CharField(max_length=40), default=list)
    canary = serializers.IntegerField(min_value=0, default=0)
    continue_on_error = serializers.BooleanField(default=False)
    allow_unsafe = serializers.BooleanField(default=False)
    allow_unknown = serializers.BooleanField(default=False, help_text="run although databases hold migrations "
                                                                      "this code does not know")


class ResumeRequestSerializer(serializers.Serializer):
    """Options a resume may override (recorded in the run's `options.resumes`)."""

    parallel = serializers.IntegerField(min_value=1, max_value=32, required=False)
    continue_on_error = serializers.BooleanField(required=False)
    allow_unsafe = serializers.BooleanField(required=False)
    allow_unknown = serializers.BooleanField(required=False)


class DriftEntrySerializer(serializers.Serializer):
    database_label = serializers.CharField()
    server = serializers.CharField()
    database = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())
    unknown = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()


class DriftSerializer(serializers.Serializer):
    checked = serializers.IntegerField()
    drifted = serializers.IntegerField()
    databases = DriftEntrySerializer(many=True)


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = MigrationRecord
        fields = ["database_label", "server", "database", "status", "pending", "applied", "attempts",
                  "duration_ms", "error", "updated_at"]


class RunSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()

    class Meta:
        model = MigrationRun
        fields = ["id", "status", "options", "requested_by", "error", "lint", "counts", "created_at",
                  "started_at", "finished_at"]

    def get_counts(self, run: MigrationRun) -> dict[str, int]:
        return selectors.run_counts(run)


# The router's lookup is untyped (`pk`); name its type for the schema.
RUN_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Migration run id.")


@extend_schema(tags=["platform"])
class MigrationRunViewSet(ViewSet):
    permission_classes = [IsPlatformAdmin]
    required_permissions = {
        "list": "migrations_tooling.view_migrationrun", "retrieve": "migrations_tooling.view_migrationrun",
        "drift": "migrations_tooling.view_migrationrun", "create": "migrations_tooling.add_migrationrun",
        "resume": "migrations_tooling.change_migrationrun",
    }
    search_fields = ["requested_by", "error"]
    pagination_class = filters.RunPagination

    @extend_schema(parameters=filters.PARAMETERS, responses=RunSerializer(many=True))
    def list(self, request: Request) -> Response:
        return filtered_page(request, self, selectors.run_list(), filters.RunFilter, RunSerializer)

    @extend_schema(request=RunRequestSerializer, responses={202: RunSerializer, 503: ErrorSerializer})
    def create(self, request: Request) -> Response:
        data = RunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.migration_run_start(options=runner.RunOptions(**data.validated_data),
                                           requested_by=request.user.get_username(), enqueue=True,
                                           actor=operations.actor_of_request(request))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[RUN_ID], responses=RunSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        run = self._run(pk)
        body: dict[str, Any] = dict(RunSerializer(run).data)
        body["records"] = RecordSerializer(selectors.run_records(run=run), many=True).data
        return Response(body)

    @extend_schema(parameters=[RUN_ID], request=ResumeRequestSerializer,
                   responses={202: RunSerializer, 503: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        data = ResumeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.migration_run_resume(run=self._run(pk), overrides=dict(data.validated_data),
                                            requested_by=request.user.get_username(), enqueue=True,
                                           actor=operations.actor_of_request(request))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=DriftSerializer)
    @action(detail=False, methods=["get"])
    def drift(self, request: Request) -> Response:
        """Report the databases whose applied migrations differ from the code."""
        return Response(selectors.drift_report())

    @staticmethod
    def _run(pk: str) -> MigrationRun:
        run = selectors.run_get(pk=pk)
        if run is None:
            raise NotFound("Migration run not found.")
        return run
