"""The tenant plane's URLconf (settings.TENANT_URLCONF): the product API, under `/api/`."""

from django.urls import include, path

from core.urls import handler400, handler403, handler404, handler500

urlpatterns = [
    path("api/", include("projects.api.urls")),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
