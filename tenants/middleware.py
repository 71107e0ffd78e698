"""Resolve the tenant of a request once, check its status, enter its context.

Order of resolution: a custom domain (Domain table), then
`<slug>.<TENANT_BASE_DOMAIN>`, then the `X-Tenant` header when
`TENANT_HEADER_ENABLED`. Which paths are tenant-scoped is read from the two
planes' URLconfs (`core.urlconfs`): platform paths never get a tenant, and the
admin is not served on a tenant's host at all (404); a tenant path must have
one, and is resolved against `settings.TENANT_URLCONF`. Status rules: unknown, deleting or deleted 404
`tenant_not_found`; suspended 403 `tenant_suspended`; provisioning 503
`tenant_unavailable` with Retry-After; a write during a move's cutover 503
`tenant_moving` with Retry-After (reads are served); failed 503 `tenant_unavailable`
without Retry-After; maintenance (a restore in place) 503
`tenant_maintenance` with Retry-After (see docs/tenants.md).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from core.errors import ADMIN_PREFIX, CoreErrorCode, json_error, known_error_response
from core.urlconfs import is_tenant_path
from routers import tenant_context
from tenants import resolution, writegate
from tenants.errors import TenantErrorCode
from tenants.models import TenantStatus


class TenantMiddleware:
    """Enter the request's tenant context, or answer with the contract's status error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(ADMIN_PREFIX) and _tenant_host(request):
            return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")  # the admin lives on the platform's host only
        if not is_tenant_path(request.path):
            return self.get_response(request)
        slug = _requested_slug(request)
        # A write reads the move block and the cache generation first (tenants.writegate).
        moving = bool(slug) and request.method not in writegate.SAFE_METHODS and writegate.write_blocked(slug or "")
        resolved = resolution.lookup(slug) if slug else None
        if resolved is None or resolved.status in (TenantStatus.DELETING, TenantStatus.DELETED):
            return json_error(404, TenantErrorCode.TENANT_NOT_FOUND, "No such tenant.")
        if resolved.status == TenantStatus.SUSPENDED:
            return json_error(403, TenantErrorCode.TENANT_SUSPENDED, "This tenant is suspended.")
        if resolved.status != TenantStatus.ACTIVE:
            return _unavailable(resolved.status)
        if moving:  # reads keep being served during a move's cutover; writes retry in a moment
            return known_error_response(writegate.moving_error())  # type: ignore[return-value]
        request.urlconf = settings.TENANT_URLCONF  # the tenant plane's URLs
        request.tenant = resolved.spec  # type: ignore[attr-defined]
        request.tenant_origins = resolved.cors_origins  # type: ignore[attr-defined]  # read by tenants.cors
        with tenant_context(resolved.spec):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer a write cut off by a move's cutover with 503 `tenant_moving` (it was not applied)."""
        spec = getattr(request, "tenant", None)
        if spec is None or request.method in writegate.SAFE_METHODS or not writegate.was_moving(spec, exception):
            return None
        return known_error_response(writegate.moving_error())


def _unavailable(status: str) -> HttpResponse:
    """Answer 503 for a tenant that is not serving; Retry-After only while it is on its way."""
    if status == TenantStatus.MAINTENANCE:  # a restore in place: back on its own, later than a provisioning
        response = json_error(503, TenantErrorCode.TENANT_MAINTENANCE,
                              "This tenant is being restored; try again later.")
        response["Retry-After"] = str(settings.TENANT_MAINTENANCE_RETRY_AFTER_SECONDS)
        return response
    if status == TenantStatus.FAILED:  # only an operator's retry brings it back: no time to promise
        return json_error(503, TenantErrorCode.TENANT_UNAVAILABLE,
                          "This tenant could not be set up; an operator must retry it.")
    response = json_error(503, TenantErrorCode.TENANT_UNAVAILABLE, f"This tenant is {status}; try again soon.")
    response["Retry-After"] = str(settings.TENANT_RETRY_AFTER_SECONDS)
    return response


def _requested_slug(request: HttpRequest) -> str | None:
    host = resolution.normalize_host(request.get_host()) if _has_host(request) else ""
    slug = resolution.slug_for_host(host) if host else None
    if slug is None and settings.TENANT_HEADER_ENABLED:
        slug = request.headers.get("X-Tenant", "").strip().lower() or None
    return slug


def _tenant_host(request: HttpRequest) -> bool:
    """Say whether the request's host names a tenant (its subdomain of the base domain, or a custom domain)."""
    return _has_host(request) and resolution.slug_for_host(request.get_host().rsplit(":", 1)[0].lower()) is not None


def _has_host(request: HttpRequest) -> bool:
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True
