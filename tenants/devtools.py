"""Glue between django-debug-toolbar and tenancy (`core.settings.local` only)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from routers import TenantSpec, is_tenant_alias, slug_of, tenant_context
from tenants import resolution

SQL_VIEWS = "/__debug__/sql_"  # the SQL panel's "Sel", "Expl" and "Prof" buttons


class ToolbarQueryTenantMiddleware:
    """Enter the tenant of the query that the toolbar's SQL panel runs again.

    The page may have been served by another process, which registered the
    tenant's aliases there only; the toolbar's own views have no tenant.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        spec = _query_tenant(request) if request.path.startswith(SQL_VIEWS) else None
        if spec is None:
            return self.get_response(request)
        with tenant_context(spec):
            return self.get_response(request)


def _query_tenant(request: HttpRequest) -> TenantSpec | None:
    from debug_toolbar.panels.sql.forms import SQLSelectForm
    from debug_toolbar.panels.sql.views import get_signed_data

    data = get_signed_data(request)
    form = SQLSelectForm(data) if data else None
    if form is None or not form.is_valid():
        return None  # the toolbar's view answers the bad request
    alias = form.cleaned_data["query"]["alias"]
    return resolution.active_spec(slug_of(alias)) if is_tenant_alias(alias) else None
