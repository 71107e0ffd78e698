"""API docs offline (Swagger UI and ReDoc from local static files), the OpenAPI fixes, the platform root."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from rest_framework.authtoken.models import Token

from tenants import services

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.fixture
def schema(control_db: None) -> dict[str, Any]:
    return Client().get("/api/schema/").json()


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_only_local_static_assets(control_db: None, page: str) -> None:
    response = Client().get(page)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert assets and not re.search(r"https?://|//cdn|unpkg|jsdelivr", html)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset  # shipped by drf-spectacular-sidecar


def test_redoc_may_not_fetch_anything_from_another_site(control_db: None) -> None:
    html = Client().get("/api/redoc/").content.decode()
    assert "Content-Security-Policy" in html and "default-src 'self'" in html and "img-src 'self' data:" in html


def test_token_endpoints_declare_401_and_429(schema: dict[str, Any]) -> None:
    for path in ("/api/auth/token/", "/api/platform/auth/token/"):
        assert {"401", "429"} <= set(schema["paths"][path]["post"]["responses"]), path


def test_suspend_resume_and_domain_add_declare_409(schema: dict[str, Any]) -> None:
    for action in ("suspend", "resume", "domains"):
        assert "409" in schema["paths"][f"/api/platform/tenants/{{slug}}/{action}/"]["post"]["responses"], action


def test_validation_examples_show_fields(schema: dict[str, Any]) -> None:
    examples = schema["paths"]["/api/projects/"]["post"]["responses"]["400"]["content"]["application/json"]["examples"]
    assert examples["validation_error"]["value"]["fields"]


def test_the_task_list_example_is_one_page_with_a_real_looking_link(schema: dict[str, Any]) -> None:
    content = schema["paths"]["/api/tasks/"]["get"]["responses"]["200"]["content"]["application/json"]
    page = next(iter(content["examples"].values()))["value"]
    assert set(page) == {"next", "previous", "results"} and "title" in page["results"][0]
    assert "api.example.org" not in str(schema)


def test_the_platform_lists_are_documented_as_pages(schema: dict[str, Any]) -> None:
    for path in ("/api/platform/tenants/", "/api/platform/migration-runs/"):
        operation = schema["paths"][path]["get"]
        assert {"status", "search", "cursor"} <= {p["name"] for p in operation["parameters"]}
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]) == {
            "next", "previous", "results"}
    assert "patch" in schema["paths"]["/api/platform/tenants/{slug}/"]


def test_the_platform_root_lists_endpoints_that_answer(control_db: None) -> None:
    services.servers_sync()
    admin = User.objects.create_user("platform-admin", password="platform-pw", is_staff=True, is_superuser=True)
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
    links = client.get("/api/platform/").json()
    assert {"tenants", "servers", "migration_runs", "token", "docs"} <= set(links)
    for name in ("tenants", "migration_runs", "docs", "audit", "usage"):
        assert client.get(links[name]).status_code == 200, name
    assert Client().get("/api/platform/").status_code == 200  # links only: no token needed
    assert Client(HTTP_AUTHORIZATION="Token nope").get("/api/platform/").status_code == 401
