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
            project = Project.objects.create(name="p", key=request.GET["key"])
            return JsonResponse({"id": project.pk}, status=201)
        queryset = Project.objects.all()
        return JsonResponse({"keys": sorted(queryset.values_list("key", flat=True)), "db": queryset.db})


urlpatterns = [path("projects", projects)]
