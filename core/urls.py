"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import health, metrics_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/platform/", include("tenants.api.urls")),
    path("api/platform/", include("migrations_tooling.api.urls")),
    path("api/schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Our template drops ReDoc's Google Fonts links: the page loads nothing from the internet.
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"),
         name="redoc"),
    path("api/", include("projects.api.urls")),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
