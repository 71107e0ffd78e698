"""`GET /metrics`: every process's samples plus the scrape-time collectors, in Prometheus text format.

Access: a loopback client, or `Authorization: Bearer <METRICS_TOKEN>`.
Behind a reverse proxy every request comes from the proxy's address: if the
proxy runs on the same host, set METRICS_TOKEN and keep the proxy from
forwarding `/metrics` (docs/observability.md).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.registry import Collector

from core import metrics
from core.errors import CoreErrorCode, json_error
from core.metrics_collect import DroppedCollector


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Answer the Prometheus text exposition, or 403 JSON to a client that may not read it."""
    if not may_scrape(request):
        return json_error(403, CoreErrorCode.METRICS_FORBIDDEN,
                          "Metrics are served to loopback clients or with the token.")
    body = generate_latest(_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def may_scrape(request: HttpRequest) -> bool:
    """Return True for a loopback peer or a request bearing METRICS_TOKEN."""
    token = str(settings.METRICS_TOKEN)
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.isdir(directory):  # gone: serve the rest, the drops say why samples are missing
        metrics.record(lambda: multiprocess.MultiProcessCollector(registry, path=directory))
    for collector in scrape_collectors():
        registry.register(collector)
    return registry


@functools.cache
def scrape_collectors() -> tuple[Collector, ...]:
    """Return one instance of each collector in METRICS_COLLECTORS (their caches live as long)."""
    return (DroppedCollector(), *(import_string(path)() for path in settings.METRICS_COLLECTORS))
