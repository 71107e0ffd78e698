"""A tiny tenant endpoint for read-your-writes tests (the tenant comes from X-Tenant)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from projects.models import Project
from routers import TenantSpec, tenant_context

WORLD: dict[str, TenantSpec] = {}


def projects(request: HttpRequest) -> JsonResponse:
    with tenant_context(WORLD[request.headers["X-Tenant"]]):
        if request.method == "POST":
            existing = Project.objects.filter(key=request.GET["key"])
            read_from = existing.db  # a write request's validation read
            if existing.exists():
                return JsonResponse({"code": "duplicate", "read_from": read_from}, status=409)
            project = Project.objects.create(name="p", key=request.GET["key"])
            return JsonResponse({"id": project.pk, "read_from": read_from}, status=201)
        queryset = Project.objects.all()
        return JsonResponse({"keys": sorted(queryset.values_list("key", flat=True)), "db": queryset.db})


def projects_then_lost(request: HttpRequest) -> JsonResponse:
    """Create a project, then lose the database connection (as if the pooler died after the commit)."""
    from django.db import connections

    spec = WORLD[request.headers["X-Tenant"]]
    with tenant_context(spec):
        project = Project.objects.create(name="p", key=request.GET["key"])
        connections[spec.alias].connection.close()  # a real closed socket, not a stand-in
    return JsonResponse({"id": project.pk}, status=201)


urlpatterns = [path("projects", projects), path("projects-lost", projects_then_lost)]
