from django.urls import path
from rest_framework.routers import SimpleRouter

from projects.api.audit import SecurityEventListView
from projects.api.auth import MeView, TokenView
from projects.api.views import ExportViewSet, ProjectViewSet, TaskViewSet, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("projects", ProjectViewSet, basename="project")
router.register("tasks", TaskViewSet, basename="task")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="tenant-token"),
    path("me/", MeView.as_view(), name="me"),
    path("audit/", SecurityEventListView.as_view(), name="tenant-audit"),
    *router.urls,
]
