"""Tenant product API: users, projects, tasks, comments, exports.

Views are thin: query sets come from `projects.selectors` (already limited to
what the user may see, so a foreign project is 404 like another tenant's),
writes go through `projects.services`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet, ModelViewSet

from core.pagination import IdCursorPagination
from projects import selectors, services
from projects.api import examples
from projects.api.base import ProductView
from projects.api.filters import TaskFilter
from projects.api.pagination import TaskCursorPagination
from projects.api.permissions import IsTenantAdminOrReadOnly, ProjectPermission, TaskPermission
from projects.api.schema import conflict
from projects.api.serializers import (
    CommentPageSerializer,
    CommentSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    MemberSerializer,
    ProjectSerializer,
    StatsSerializer,
    TaskSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from projects.errors import ExportNotReady
from projects.models import Export, ExportStatus, Project, Task

ORDERING_FIELDS = ["created_at", "updated_at", "due_date", "priority", "id"]
TASK_ORDERINGS = [prefix + name for name in ORDERING_FIELDS for prefix in ("", "-")]
KEY_TAKEN = conflict("Another project has this key (`project_exists`).")


class TenantViews(ProductView, GenericViewSet):
    """Common ground of the product's viewsets: integer ids, and what the user may see."""

    lookup_value_regex = "[0-9]+"  # any other id is a 404 before it reaches a query
    model: type[Model]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no tenant
            return self.model._default_manager.none()
        return self.visible()

    def visible(self) -> QuerySet[Any]:
        """Return the objects the request's user may see (anything else is a 404)."""
        raise NotImplementedError


@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, TenantViews):
    """The tenant's users; tenant admins add, change, deactivate and reactivate them."""

    model = get_user_model()
    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated, IsTenantAdminOrReadOnly]
    pagination_class = IdCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def visible(self) -> QuerySet[Any]:
        return selectors.users_for(user=self.request.user)

    @extend_schema(request=UserCreateSerializer,
                   responses={201: UserSerializer, 409: conflict("The username is taken (`user_exists`).")})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data, actor=request.user)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        data = UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=user, actor=request.user, **data.validated_data)
        return Response(UserSerializer(user).data)


@extend_schema_view(update=extend_schema(responses={200: ProjectSerializer, 409: KEY_TAKEN}),
                    partial_update=extend_schema(responses={200: ProjectSerializer, 409: KEY_TAKEN}))
@extend_schema(tags=["projects"])
class ProjectViewSet(ModelViewSet, TenantViews):
    model = Project
    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated, ProjectPermission]
    pagination_class = IdCursorPagination

    def visible(self) -> QuerySet[Project]:
        return selectors.projects_for(user=self.request.user)

    @extend_schema(examples=examples.PROJECT_CREATE, responses={201: ProjectSerializer, 409: KEY_TAKEN})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(creator=request.user, **_project_fields(data.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        data = self.get_serializer(project, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        services.project_update(project=project, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data)

    def perform_destroy(self, instance: Project) -> None:
        services.project_delete(project=instance)

    @extend_schema(responses=StatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        """Task counts by status, open, overdue and unassigned (cached per tenant in Redis)."""
        return Response(selectors.project_stats(project=self.get_object()))

    @extend_schema(methods=["GET"], responses=MemberSerializer(many=True))
    @extend_schema(methods=["POST"], request=MemberSerializer, responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def members(self, request: Request, pk: str) -> Response:
        """List members; project admins add, change (`role`) or remove (`role: null`) one."""
        project = self.get_object()
        if request.method == "POST":
            data = MemberSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.membership_set(project=project, user_id=data.validated_data["user"],
                                    role=data.validated_data["role"], actor=request.user)
        return Response(selectors.project_members(project=project))


def _project_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("name", "key", "description") if key in data}


@extend_schema_view(list=extend_schema(examples=examples.TASK_LIST, parameters=[
    OpenApiParameter("search", str, description="Full-text search in title and description, best match first"),
    OpenApiParameter("ordering", str, enum=TASK_ORDERINGS,
                     description="Sort key (ignored with `search`); tasks without a due date come last"),
]), create=extend_schema(examples=examples.TASK_CREATE))
@extend_schema(tags=["tasks"])
class TaskViewSet(ModelViewSet, TenantViews):
    model = Task
    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, TaskPermission]
    pagination_class = TaskCursorPagination
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = TaskFilter
    ordering_fields = ORDERING_FIELDS

    def visible(self) -> QuerySet[Task]:
        return selectors.tasks_for(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_create(reporter=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        data = self.get_serializer(task, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        services.task_update(task=task, actor=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)

    def perform_destroy(self, instance: Task) -> None:
        services.task_delete(task=instance)

    @extend_schema(methods=["GET"], responses=CommentPageSerializer)
    @extend_schema(methods=["POST"], request=CommentSerializer, responses={201: CommentSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=IdCursorPagination,
            filter_backends=[], permission_classes=[IsAuthenticated, TaskPermission])
    def comments(self, request: Request, pk: str) -> Response:
        """The task's comments, oldest first; members add comments."""
        task = self.get_object()
        if request.method == "POST":
            data = CommentSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            comment = services.comment_create(task=task, author=request.user, body=data.validated_data["body"])
            return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.task_comments(task=task))
        return self.get_paginated_response(CommentSerializer(page, many=True).data)


@extend_schema_view(retrieve=extend_schema(examples=examples.EXPORT_DETAIL))
@extend_schema(tags=["exports"])
class ExportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, TenantViews):
    """CSV exports of tasks, written by a Celery worker; poll `progress`, then download."""

    model = Export
    serializer_class = ExportSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination

    def visible(self) -> QuerySet[Export]:
        return selectors.exports_for(user=self.request.user)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer}, examples=examples.EXPORT_CREATE)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = services.export_request(user=request.user, filters=data.validated_data)
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        """Never refuse a download for its Accept header: the file is CSV, errors stay JSON."""
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR,
                              409: conflict("The export is not finished (`export_not_ready`).")})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> HttpResponse:
        export = self.get_object()
        if export.status != ExportStatus.DONE:
            raise ExportNotReady(f"The export is {export.status}.")
        response = HttpResponse(selectors.export_content(export=export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
        return response
