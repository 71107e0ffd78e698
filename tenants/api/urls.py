from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api.root import PlatformRootView
from tenants.api.views import PlatformTokenView, ServerListView, TenantViewSet

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="platform-tenant")

urlpatterns = [
    path("", PlatformRootView.as_view(), name="platform-root"),
    path("auth/token/", PlatformTokenView.as_view(), name="platform-token"),
    path("servers/", ServerListView.as_view(), name="platform-servers"),
    *router.urls,
]
