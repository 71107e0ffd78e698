"""The platform plane's URLconf (ROOT_URLCONF): health, admin, platform API, API schema and docs.

The tenant plane has its own, `core.urls_tenant` (settings.TENANT_URLCONF), which the
tenant middleware sets as `request.urlconf` for the paths it serves; `core.urlconfs`
says which plane a path belongs to from these two lists (`tests/core/test_application_layer.py`
fails on an API path spelled anywhere else).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import health, metrics_views

# The schema documents both planes: it is generated from `core.urls_api`, the two lists together.
SCHEMA_URLCONF = "core.urls_api"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/platform/", include("tenants.api.urls")),
    path("api/platform/", include("migrations_tooling.api.urls")),
    path("api/schema/", SpectacularJSONAPIView.as_view(urlconf=SCHEMA_URLCONF), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Our template drops ReDoc's Google Fonts links: the page loads nothing from the internet.
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"),
         name="redoc"),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
