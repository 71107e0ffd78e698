"""Production settings pass Django's deploy check and serve HTTPS-only, health excepted."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

from tests.conftest import ROOT

# The variables a production deployment must set; everything else keeps its default.
PRODUCTION_ENV = {"DJANGO_SETTINGS_MODULE": "core.settings.production",
                  "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "api.example.com,.example.com"}
HTTPS_VARIABLES = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                   "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SECURE_REFERRER_POLICY",
                   "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DEBUG")


def _production(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in HTTPS_VARIABLES}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**base, **PRODUCTION_ENV, **env})


def _responses(requests: list[tuple[str, dict[str, str]]], **env: str) -> list[dict[str, object]]:
    """Send `requests` through Django's test client in a production-settings process."""
    code = (
        "import json, django; django.setup()\n"
        "from django.test import Client\n"
        f"requests = {requests!r}\n"
        "out = []\n"
        "for path, headers in requests:\n"
        "    r = Client().get(path, HTTP_HOST='api.example.com', **headers)\n"
        "    out.append({'status': r.status_code, 'headers': dict(r.headers)})\n"
        "print(json.dumps(out))\n"
    )
    result = _production("-c", code, **env)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_settings_pass_the_deploy_check_with_no_warning() -> None:
    result = _production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr


def test_production_redirects_plain_http_except_health_probes() -> None:
    healthz, readyz, api = _responses([("/healthz", {}), ("/readyz", {}), ("/api/platform/tenants/", {})])
    assert healthz["status"] == 200
    assert readyz["status"] in (200, 503)  # answered (its checks may fail here), never redirected
    assert api["status"] == 301
    assert api["headers"]["Location"] == "https://api.example.com/api/platform/tenants/"


def test_production_trusts_the_proxy_https_header_and_sends_security_headers() -> None:
    (api,) = _responses([("/api/platform/tenants/", {"HTTP_X_FORWARDED_PROTO": "https"})])
    headers = api["headers"]
    assert api["status"] == 401  # served (no token), not redirected
    assert isinstance(headers, dict)
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_https_settings_are_configurable_for_a_deployment_behind_a_proxy() -> None:
    code = ("import django; django.setup()\nfrom django.conf import settings as s\n"
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
            "s.SECURE_REFERRER_POLICY, s.SESSION_COOKIE_SECURE)")
    result = _production("-c", code, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="600",
                         SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SCHEME,https",
                         SECURE_REFERRER_POLICY="strict-origin", SESSION_COOKIE_SECURE="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "600", "('HTTP_X_FORWARDED_SCHEME',", "'https')", "strict-origin",
                                     "True"]
    untrusted = _production("-c", code, SECURE_PROXY_SSL_HEADER="")
    assert "None" in untrusted.stdout.split(), untrusted.stderr
    (api,) = _responses([("/api/platform/tenants/", {})], SECURE_SSL_REDIRECT="false")
    assert api["status"] == 401  # the proxy redirects: Django serves plain http as it comes
