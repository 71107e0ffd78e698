"""`GET /api/platform/`: the platform API's entry point, listing its endpoints."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# name -> URL name (every platform endpoint a client starts from; details are links in the lists).
ENDPOINTS = {
    "token": "platform-token",
    "tenants": "platform-tenant-list",
    "servers": "platform-servers",
    "migration_runs": "migration-run-list",
    "migration_drift": "migration-run-drift",
    "audit": "platform-audit",
    "usage": "platform-usage",
}


class PlatformRootView(APIView):
    """List the platform API's endpoints (links only: each endpoint checks its own permissions).

    Anyone may read it; a token, when sent, must still be valid (401 otherwise).
    """

    permission_classes = [AllowAny]

    @extend_schema(tags=["platform"], responses={200: {"type": "object", "additionalProperties": {"type": "string"}}})
    def get(self, request: Request) -> Response:
        links = {name: request.build_absolute_uri(reverse(url)) for name, url in ENDPOINTS.items()}
        links["schema"] = request.build_absolute_uri(reverse("schema"))
        links["docs"] = request.build_absolute_uri(reverse("docs"))
        return Response(links)
