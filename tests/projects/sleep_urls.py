"""The tenant plane's URLs plus one view that runs a slow statement on the tenant's database (statement timeouts)."""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.urls import path

from core.urls_tenant import urlpatterns as tenant_urlpatterns
from routers import current_alias


def sleep(request: HttpRequest) -> JsonResponse:
    """Sleep in the tenant database for the seconds asked (the plan's statement timeout stops it)."""
    with connections[current_alias()].cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", "5"))])
    return JsonResponse({"slept": True})


urlpatterns = [path("api/test/sleep/", sleep), *tenant_urlpatterns]
