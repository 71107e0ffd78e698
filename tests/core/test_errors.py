"""Every error leaves the service as `{"code", "detail"}` JSON, never a trace."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework import serializers

from core.errors import ApiError, _body

pytestmark = pytest.mark.unit


def test_unknown_url_is_json_404(client: Client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.urls("tests.core.urls_errors")
@pytest.mark.parametrize("path", ["/boom/plain", "/boom/api"])
def test_unhandled_exception_is_json_500_without_internals(path: str) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(path)
    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "detail": "An internal error occurred."}
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_validation_error_carries_fields_and_first_message() -> None:
    exc = serializers.ValidationError({"slug": ["This field is required."]})
    body = _body(exc)
    assert body["code"] == "validation_error"
    assert body["detail"] == "slug: This field is required."
    assert body["fields"] == {"slug": ["This field is required."]}


def test_api_error_keeps_its_code_and_status() -> None:
    error = ApiError("Tenant is suspended.", code="tenant_suspended", status_code=403)
    assert (error.status_code, error.code, error.detail) == (403, "tenant_suspended", "Tenant is suspended.")


def test_every_response_echoes_a_request_id(client: Client) -> None:
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_a_method_a_plain_django_view_refuses_is_json_405(client: Client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json() == {"code": "method_not_allowed", "detail": "Method POST not allowed."}
    assert response["Allow"] == "GET, HEAD"
