"""Host names are normalised before resolution (case, port, trailing dot)."""

from __future__ import annotations

from django.test import Client

from tests.projects.conftest import TenantWorld


def test_a_trailing_dot_host_resolves_like_the_plain_host_and_beats_the_header(
    product: dict[str, TenantWorld],
) -> None:
    beta_token = product["beta"].tokens["member"]
    for host in ("beta.localhost", "beta.localhost.", "BETA.LocalHost.:8000"):
        response = Client().get("/api/me/", HTTP_HOST=host, HTTP_X_TENANT="alpha",
                                HTTP_AUTHORIZATION=f"Token {beta_token}")
        assert response.status_code == 200, (host, response.content)
        assert response.json()["username"] == "member-beta"
