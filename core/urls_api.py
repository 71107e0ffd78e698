"""Both planes' URLs in one list, for the OpenAPI schema only (requests use one plane's URLconf each)."""

from core.urls import urlpatterns as platform_urlpatterns
from core.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [*platform_urlpatterns, *tenant_urlpatterns]
