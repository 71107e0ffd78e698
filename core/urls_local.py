"""URLs of `core.settings.local`: the debug toolbar and a browsable-API sign-in, then core.urls.

`/api/auth/browser/login/` is under `/api/`, so on a tenant's host
(`http://demo.localhost:8000/...`) it signs in that tenant's user and keeps the
session in the tenant's database; on `localhost` it signs in a platform admin.
"""

from django.urls import include, path

from core.urls import handler400, handler403, handler404, handler500
from core.urls import urlpatterns as core_urlpatterns

urlpatterns = [
    path("__debug__/", include("debug_toolbar.urls")),
    path("api/auth/browser/", include("rest_framework.urls")),
    *core_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
