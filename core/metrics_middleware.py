"""Count and time every HTTP request by plane, route, method and status class."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.module_loading import import_string

from core import metrics

UNRESOLVED = "<unresolved>"  # answered before URL resolution (unknown tenant, redirect, ...)


def process_refreshers() -> list[Callable[[], None]]:
    """Return the functions that refresh this process's gauges (METRICS_PROCESS_GAUGES)."""
    return [import_string(path) for path in settings.METRICS_PROCESS_GAUGES]


class MetricsMiddleware:
    """Record one sample per request; a metrics failure is dropped, never answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.top = metrics.TopTenants(int(settings.METRICS_TENANT_TOP_N))
        self.refreshers = process_refreshers()
        self.throttle = metrics.Throttle(1.0)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        metrics.record(lambda: self._observe(request, response.status_code, elapsed))
        metrics.refresh_gauges(self.refreshers, self.throttle)
        return response

    def _observe(self, request: HttpRequest, status: int, elapsed: float) -> None:
        tenant = getattr(request, "tenant", None)
        labels = (plane_of(request, tenant is not None), route_of(request), method_of(request),
                  metrics.status_class(status))
        metrics.child(metrics.REQUESTS, *labels).inc()
        metrics.child(metrics.LATENCY, *labels).observe(elapsed)
        if tenant is not None:
            metrics.child(metrics.TENANT_REQUESTS, self.top.label(tenant.slug)).inc()


def plane_of(request: HttpRequest, has_tenant: bool) -> str:
    """Return "platform", "tenant" or "other" (health, metrics, admin, docs)."""
    if has_tenant:
        return "tenant"
    return "platform" if request.path.startswith(_platform_root()) else "other"


@functools.cache
def _platform_root() -> str:
    """Return the platform API's root path, asked of the platform's URLconf (never spelled here)."""
    return reverse("platform-root", urlconf=settings.ROOT_URLCONF)


def route_of(request: HttpRequest) -> str:
    """Return the URL pattern that served the request, never the raw path (bounded)."""
    match = request.resolver_match
    if match is None:
        return UNRESOLVED
    if not match.route:
        return match.view_name or UNRESOLVED
    return "/" + match.route.removesuffix("$")  # DRF's routers write regular expressions


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_of(request: HttpRequest) -> str:
    """Return the method, or "other" for anything a client made up (bounded)."""
    method = request.method or ""
    return method if method in KNOWN_METHODS else "other"
