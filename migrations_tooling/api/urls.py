from rest_framework.routers import SimpleRouter

from migrations_tooling.api.views import MigrationRunViewSet

router = SimpleRouter()
router.register("migration-runs", MigrationRunViewSet, basename="migration-run")
urlpatterns = router.urls
