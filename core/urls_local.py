"""The platform URLconf of `core.settings.local`: the debug toolbar, then core.urls.

The browsable-API sign-in is a tenant path (`/api/auth/browser/`): `core.urls_local_tenant`.
"""

from django.urls import include, path

from core.urls import handler400, handler403, handler404, handler500
from core.urls import urlpatterns as core_urlpatterns

urlpatterns = [
    path("__debug__/", include("debug_toolbar.urls")),
    *core_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
