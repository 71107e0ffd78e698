"""The one JSON client of the tests, for the platform and the tenant APIs."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client


class Api:
    """JSON calls with a token, to the platform API or (with `tenant`) to one tenant's API.

    The tenant is addressed by the X-Tenant header, or by its host name when `host`
    is set; `tenant=` and `token=` on a call override the client's own for that call.
    """

    def __init__(self, client: Client | None = None, token: str | None = None, *, tenant: str | None = None,
                 host: str | None = None) -> None:
        self.client, self.token, self.tenant, self.host = client or Client(), token, tenant, host

    def headers(self, tenant: str | None = None, token: str | None = None) -> dict[str, str]:
        """Return the test client keyword arguments that address the tenant and carry the token."""
        headers = {}
        if tenant is None and self.host:
            headers["HTTP_HOST"] = self.host
        elif tenant or self.tenant:
            headers["HTTP_X_TENANT"] = tenant or self.tenant or ""
        if token or self.token:
            headers["HTTP_AUTHORIZATION"] = f"Token {token or self.token}"
        return headers

    def get(self, path: str, data: Any = None, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.get(path, data or {}, **self.headers(tenant, token))

    def post(self, path: str, data: Any = None, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.post(path, data or {}, content_type="application/json", **self.headers(tenant, token))

    def patch(self, path: str, data: Any, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.patch(path, data, content_type="application/json", **self.headers(tenant, token))

    def delete(self, path: str, *, tenant: str | None = None, token: str | None = None) -> Any:
        return self.client.delete(path, **self.headers(tenant, token))

    def wait_status(self, slug: str, wanted: set[str], timeout: float = 120.0) -> dict[str, Any]:
        """Poll the platform API until tenant `slug` is in one of `wanted` (a deadline, not a sleep)."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = self.get(f"/api/platform/tenants/{slug}/")
            body = response.json() if response.status_code == 200 else {"status": "gone"}
            if body["status"] in wanted:
                return body
            time.sleep(0.02)
        raise AssertionError(f"tenant {slug} still {body.get('status')} after {timeout}s: {body}")

    def tenant_token(self, slug: str, username: str, password: str) -> str:
        response = self.post("/api/auth/token/", {"username": username, "password": password}, tenant=slug)
        assert response.status_code == 200, response.content
        return response.json()["token"]  # type: ignore[no-any-return]
