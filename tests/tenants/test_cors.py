"""CORS: each tenant's API answers its own origins only; the platform API a configured list."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tenants import services
from tenants.checks import platform_cors_origins
from tenants.models import Tenant
from tenants.validation import normalize_origin, origin_problem
from tests.reliability.load import Server, gunicorn
from tests.tenants.conftest import provision, run_django, wait_for

A_FRONT = "https://front.a-corp.test"
PREFLIGHT = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
             "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type"}


@pytest.fixture
def admin(servers: None) -> Client:
    """A client signed in as a platform admin allowed to read and change tenants."""
    user = User.objects.create_user("cors-admin", password="pw-cors-admin", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="tenants", codename__in=["view_tenant", "change_tenant"]))
    token = Token.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def pair(servers: None) -> Iterator[tuple[Tenant, Tenant]]:
    """Two active tenants on different servers; A allows one extra origin."""
    a, b = provision("p-cors-a", server="a"), provision("p-cors-b", server="b")
    services.tenant_cors_set(slug=a.slug, origins=[A_FRONT])
    yield a, b


def _get(tenant: str, origin: str, path: str = "/api/me/", **extra: Any) -> Any:
    return Client().get(path, HTTP_X_TENANT=tenant, HTTP_ORIGIN=origin, **extra)


def _preflight(tenant: str, origin: str, path: str = "/api/projects/") -> Any:
    return Client().options(path, HTTP_X_TENANT=tenant, HTTP_ORIGIN=origin, **PREFLIGHT)


def test_a_tenants_origins_never_apply_to_another_tenant(pair: tuple[Tenant, Tenant]) -> None:
    own = "https://p-cors-a.localhost"  # default: the tenant's https host name
    for origin in (A_FRONT, own):
        on_a, on_b = _get("p-cors-a", origin), _get("p-cors-b", origin)
        assert on_a.status_code == on_b.status_code == 401  # no token: the browser may still read why
        assert on_a["Access-Control-Allow-Origin"] == origin
        assert "Access-Control-Allow-Origin" not in on_b
        assert "origin" in on_b["Vary"].lower()
    assert "Access-Control-Allow-Origin" in _get("p-cors-b", "https://p-cors-b.localhost")
    assert "Access-Control-Allow-Origin" not in _get("p-cors-a", "https://evil.test")


def test_a_custom_domain_is_an_allowed_origin_at_once(pair: tuple[Tenant, Tenant]) -> None:
    assert "Access-Control-Allow-Origin" not in _get("p-cors-a", "https://shop.a-corp.test")
    services.domain_add(slug="p-cors-a", domain="shop.a-corp.test")
    assert _get("p-cors-a", "https://shop.a-corp.test")["Access-Control-Allow-Origin"] == "https://shop.a-corp.test"
    assert "Access-Control-Allow-Origin" not in _get("p-cors-a", "http://shop.a-corp.test")  # https only


def test_a_preflight_needs_no_token_and_allows_the_authorization_header(pair: tuple[Tenant, Tenant]) -> None:
    response = _preflight("p-cors-a", A_FRONT)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == A_FRONT
    assert "authorization" in response["Access-Control-Allow-Headers"].split(", ")
    assert "x-tenant" in response["Access-Control-Allow-Headers"].split(", ")
    assert "POST" in response["Access-Control-Allow-Methods"].split(", ")
    assert "Access-Control-Allow-Credentials" not in response  # tokens, never cookies
    foreign = _preflight("p-cors-b", A_FRONT)
    assert "Access-Control-Allow-Origin" not in foreign and "Access-Control-Allow-Headers" not in foreign


def test_cors_costs_no_control_plane_query_in_steady_state(pair: tuple[Tenant, Tenant]) -> None:
    _preflight("p-cors-a", A_FRONT), _get("p-cors-b", A_FRONT)  # warm the resolution cache
    with CaptureQueriesContext(connections["default"]) as control, \
            CaptureQueriesContext(connections["default_replica"]) as replica:
        for _ in range(3):
            assert _preflight("p-cors-a", A_FRONT)["Access-Control-Allow-Origin"] == A_FRONT
            assert _get("p-cors-a", A_FRONT)["Access-Control-Allow-Origin"] == A_FRONT
            assert "Access-Control-Allow-Origin" not in _get("p-cors-b", A_FRONT)
    assert len(control) == 0 and len(replica) == 0


def test_changed_origins_apply_in_every_process(pair: tuple[Tenant, Tenant], admin: Client) -> None:
    assert _get("p-cors-a", A_FRONT)["Access-Control-Allow-Origin"] == A_FRONT  # cached now
    changed = run_django("from tenants import services\n"
                         "services.tenant_cors_set(slug='p-cors-a', origins=['http://localhost:5173'])")
    assert changed.returncode == 0, changed.stderr
    wait_for(lambda: "Access-Control-Allow-Origin" not in _get("p-cors-a", A_FRONT),
             settings.TENANT_CACHE_CHECK_SECONDS + 5, "the removed origin to be refused")
    assert _get("p-cors-a", "http://localhost:5173")["Access-Control-Allow-Origin"] == "http://localhost:5173"
    body = admin.get("/api/platform/tenants/p-cors-a/cors-origins/").json()
    assert body == {"origins": ["http://localhost:5173"], "default_origins": ["https://p-cors-a.localhost"]}


def test_platform_admins_replace_a_tenants_origins(pair: tuple[Tenant, Tenant], admin: Client) -> None:
    url = "/api/platform/tenants/p-cors-b/cors-origins/"
    response = admin.put(url, {"origins": ["HTTPS://App.B.test:443", "http://localhost:5173",
                                           "https://app.b.test"]}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["origins"] == ["http://localhost:5173", "https://app.b.test"]
    assert _get("p-cors-b", "https://app.b.test")["Access-Control-Allow-Origin"] == "https://app.b.test"
    assert "Access-Control-Allow-Origin" not in _get("p-cors-a", "https://app.b.test")
    assert admin.put(url, {"origins": []}, content_type="application/json").json()["origins"] == []
    assert "Access-Control-Allow-Origin" not in _get("p-cors-b", "https://app.b.test")
    assert Client().put(url, {"origins": []}, content_type="application/json").status_code == 401
    missing = admin.get("/api/platform/tenants/p-nobody/cors-origins/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_changing_origins_needs_the_change_tenant_permission(pair: tuple[Tenant, Tenant]) -> None:
    reader = User.objects.create_user("cors-reader", password="pw-cors-reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(content_type__app_label="tenants", codename="view_tenant"))
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reader).key}")
    url = "/api/platform/tenants/p-cors-a/cors-origins/"
    assert client.get(url).json()["origins"] == [A_FRONT]
    refused = client.put(url, {"origins": []}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert client.get(url).json()["origins"] == [A_FRONT]  # nothing changed


BAD_ORIGINS: list[Any] = [
    ["https://a.test/"], ["https://a.test/app"], ["*"], ["https://*.a.test"], ["ftp://a.test"], ["a.test"],
    ["https://user@a.test"], ["https://a.test:99999"], ["https://a.test?x=1"], [5], ["null"],
    ["https://ok.test", "https://a.test/#x"], "https://a.test", [f"https://x{i}.test" for i in range(51)],
]


def test_bad_origins_are_refused_whole_with_a_json_400(pair: tuple[Tenant, Tenant], admin: Client) -> None:
    url = "/api/platform/tenants/p-cors-a/cors-origins/"
    for origins in BAD_ORIGINS:
        response = admin.put(url, {"origins": origins}, content_type="application/json")
        assert response.status_code == 400, (origins, response.content)
        assert response.json()["code"] == "validation_error" and "origins" in response.json()["fields"]
    assert admin.get(url).json()["origins"] == [A_FRONT]  # nothing changed


def test_the_platform_api_answers_only_its_configured_origins(pair: tuple[Tenant, Tenant]) -> None:
    def allowed(origin: str) -> bool:
        response = Client().options("/api/platform/tenants/", HTTP_ORIGIN=origin, **PREFLIGHT)
        return response.get("Access-Control-Allow-Origin") == origin

    assert not allowed("https://console.test")  # default: none
    with override_settings(PLATFORM_CORS_ALLOWED_ORIGINS=["https://console.test"]):
        assert allowed("https://console.test")
        assert not allowed(A_FRONT) and not allowed("https://p-cors-a.localhost")  # tenant origins stay there
        assert "Access-Control-Allow-Origin" not in _get("p-cors-a", "https://console.test")
        assert "Access-Control-Allow-Origin" not in Client().get("/healthz", HTTP_ORIGIN="https://console.test")


def test_origin_validation_and_normalization() -> None:
    assert origin_problem("https://app.example.com") is None
    assert origin_problem("http://localhost:5173") is None and origin_problem("http://127.0.0.1:8080") is None
    assert origin_problem("https://app.example.com/") and origin_problem("https://app..com")
    assert normalize_origin(" HTTPS://App.Example.com:443 ") == "https://app.example.com"
    assert normalize_origin("http://a.test:80") == "http://a.test"
    assert normalize_origin("https://a.test:80") == "https://a.test:80"


def test_a_platform_origin_setting_that_no_browser_sends_fails_the_system_check() -> None:
    with override_settings(PLATFORM_CORS_ALLOWED_ORIGINS=["https://ok.test", "https://Bad.test/", "*"]):
        errors = platform_cors_origins()
    assert [error.id for error in errors] == ["tenants.E001", "tenants.E001"]


def _http(server: Server, method: str, tenant: str, origin: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    headers = {"Host": f"{tenant}.localhost", "Origin": origin}
    if method == "OPTIONS":
        headers.update({"Access-Control-Request-Method": "GET",
                        "Access-Control-Request-Headers": "authorization"})
    conn.request(method, "/api/projects/", headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.slow
def test_cors_per_tenant_through_a_real_web_server(pair: tuple[Tenant, Tenant]) -> None:
    with gunicorn(workers=1, threads=2) as server:
        for method in ("OPTIONS", "GET"):
            on_a = _http(server, method, "p-cors-a", A_FRONT)
            on_b = _http(server, method, "p-cors-b", A_FRONT)
            assert on_a.getheader("Access-Control-Allow-Origin") == A_FRONT, method
            assert on_b.getheader("Access-Control-Allow-Origin") is None, method
            assert on_a.status == (200 if method == "OPTIONS" else 401)
