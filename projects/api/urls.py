from django.urls import path

from projects.api.auth import MeView, TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="tenant-token"),
    path("me/", MeView.as_view(), name="me"),
]
