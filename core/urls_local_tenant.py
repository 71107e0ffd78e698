"""The tenant URLconf of `core.settings.local`: a browsable-API sign-in, then core.urls_tenant.

The debug toolbar's URLs are here too, so the toolbar can `reverse()` them while it renders
a tenant page (its own requests, under `/__debug__/`, are served by the platform URLconf).

`/api/auth/browser/login/` on a tenant's host (`http://demo.localhost:8000/...`)
signs in that tenant's user and keeps the session in the tenant's database.
"""

from django.urls import include, path

from core.urls_tenant import handler400, handler403, handler404, handler500
from core.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [
    path("__debug__/", include("debug_toolbar.urls")),
    path("api/auth/browser/", include("rest_framework.urls")),
    *tenant_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
