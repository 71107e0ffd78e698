"""URLs used only by tests/core/test_errors.py to raise errors on purpose."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from core.urls import urlpatterns as core_urlpatterns


def plain_view_that_fails(request):
    raise RuntimeError("secret internals")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_view_that_fails(request):
    raise KeyError("secret internals")


urlpatterns = [
    *core_urlpatterns,
    path("boom/plain", plain_view_that_fails),
    path("boom/api", api_view_that_fails),
]

handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
