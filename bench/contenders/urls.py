"""URLs of the tenancy-off and django-tenants contenders: the tenant product API only."""

from django.urls import include, path

urlpatterns = [path("api/", include("projects.api.urls"))]
