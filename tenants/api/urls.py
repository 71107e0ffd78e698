from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api.audit import AuditListView
from tenants.api.backups import (
    BackupDetailView,
    BackupListView,
    BackupRestoreView,
    TenantCloneView,
)
from tenants.api.cors import TenantCorsOriginsView
from tenants.api.move import JobDetailView, TenantJobListView, TenantMoveView
from tenants.api.root import PlatformRootView
from tenants.api.usage import FleetUsageView, TenantUsageView
from tenants.api.views import PlatformTokenView, ServerListView, TenantViewSet

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="platform-tenant")

urlpatterns = [
    path("", PlatformRootView.as_view(), name="platform-root"),
    path("auth/token/", PlatformTokenView.as_view(), name="platform-token"),
    path("servers/", ServerListView.as_view(), name="platform-servers"),
    path("tenants/<str:slug>/cors-origins/", TenantCorsOriginsView.as_view(), name="platform-tenant-cors-origins"),
    path("tenants/<str:slug>/move/", TenantMoveView.as_view(), name="platform-tenant-move"),
    path("tenants/<str:slug>/jobs/", TenantJobListView.as_view(), name="platform-tenant-jobs"),
    path("jobs/<int:job_id>/", JobDetailView.as_view(), name="platform-job"),
    path("tenants/<str:slug>/backups/", BackupListView.as_view(), name="platform-tenant-backups"),
    path("tenants/<str:slug>/backups/<int:backup_id>/", BackupDetailView.as_view(), name="platform-tenant-backup"),
    path("tenants/<str:slug>/backups/<int:backup_id>/restore/", BackupRestoreView.as_view(),
         name="platform-tenant-backup-restore"),
    path("tenants/<str:slug>/clone/", TenantCloneView.as_view(), name="platform-tenant-clone"),
    path("tenants/<str:slug>/usage/", TenantUsageView.as_view(), name="platform-tenant-usage"),
    path("usage/", FleetUsageView.as_view(), name="platform-usage"),
    path("audit/", AuditListView.as_view(), name="platform-audit"),
    *router.urls,
]
