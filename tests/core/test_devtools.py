"""Development tooling loads in local settings only: debug toolbar, browsable API, query counts."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

from django.conf import settings

from tenants import services
from tests.conftest import ROOT
from tests.tenants.conftest import provision

DEV_MIDDLEWARE = ("debug_toolbar.middleware.DebugToolbarMiddleware", "core.devtools.QueryCountMiddleware")
SHOW = ("import json, django; django.setup()\nfrom django.conf import settings as s\n"
        "print(json.dumps({'apps': s.INSTALLED_APPS, 'middleware': s.MIDDLEWARE, 'urls': s.ROOT_URLCONF, "
        "'renderers': s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']}))")


def _django(code: str, module: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Not seen as a test run by the toolbar (it refuses to run then with DEBUG off).
    base = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": module, **env})


def _configuration(module: str, **env: str) -> dict[str, list[str]]:
    result = _django(SHOW, module, **env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_and_test_settings_never_load_the_development_tooling() -> None:
    production = _configuration("core.settings.production", SECRET_KEY=secrets.token_urlsafe(50),
                                ALLOWED_HOSTS="api.example.com", DEBUG_TOOLBAR="true")
    for loaded in (production, {"apps": settings.INSTALLED_APPS, "middleware": settings.MIDDLEWARE,
                                "urls": settings.ROOT_URLCONF,
                                "renderers": settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]}):
        assert "debug_toolbar" not in loaded["apps"]
        assert not set(DEV_MIDDLEWARE) & set(loaded["middleware"])
        assert loaded["urls"] == "core.urls"
        assert loaded["renderers"] == ["rest_framework.renderers.JSONRenderer"]


def test_local_settings_load_the_toolbar_inside_the_tenant_context_unless_switched_off() -> None:
    local = _configuration("core.settings.local")
    assert "debug_toolbar" in local["apps"] and local["urls"] == "core.urls_local"
    middleware = local["middleware"]
    tenant = middleware.index("tenants.middleware.TenantMiddleware")
    assert tenant < middleware.index(DEV_MIDDLEWARE[0]) and tenant < middleware.index(DEV_MIDDLEWARE[1])
    off = _configuration("core.settings.local", DEBUG_TOOLBAR="false")
    assert "debug_toolbar" not in off["apps"] and DEV_MIDDLEWARE[0] not in off["middleware"]
    assert DEV_MIDDLEWARE[1] in off["middleware"]  # query counts stay


BROWSE = """
import html as html_lib, json, re, django
django.setup()
from django.contrib.auth.models import User
from django.test import Client
from routers import tenant_context
from tenants import resolution

spec = resolution.active_spec("p-dev")
client = Client()
with tenant_context(spec):
    client.force_login(User.objects.get(username="owner@p-dev.test"))
page = client.get("/api/projects/", HTTP_HOST="p-dev.localhost", HTTP_ACCEPT="text/html")
html = page.content.decode()
request_id = re.search(r'data-request-id="([0-9a-f]+)"', html).group(1)
panel = client.get(f"/__debug__/render_panel/?request_id={request_id}&panel_id=SQLPanel")
# "Sel" and "Expl" of each query, as if served by another process (tenant aliases unregistered).
from routers import unregister
unregister("p-dev")
signed = [html_lib.unescape(s) for s in re.findall(r'name="signed" value="([^"]+)"', panel.json()["content"])]
reruns = [client.post(f"/__debug__/{view}/", {"signed": s}).status_code
          for s in signed for view in ("sql_select", "sql_explain")]
print(json.dumps({"reruns": reruns, "status": page.status_code, "type": page["Content-Type"],
                  "toolbar": "djDebug" in html, "panel": panel.status_code, "sql": panel.json()["content"]}))
"""


def test_the_toolbar_shows_each_querys_alias_on_the_browsable_api(control_db: None) -> None:
    services.servers_sync()
    provision("p-dev", server="a")  # server a has a replica: reads and session reads use different aliases
    control = settings.DATABASES["default"]
    url = f"postgres://{control['USER']}:{control['PASSWORD']}@{control['HOST']}:{control['PORT']}/{control['NAME']}"
    replica = settings.DATABASES["default_replica"]
    replica_url = url.replace(f":{control['PORT']}/", f":{replica['PORT']}/")
    result = _django(BROWSE, "core.settings.local", DATABASE_URL=url, DATABASE_REPLICA_URL=replica_url)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["status"] == 200 and shown["type"].startswith("text/html") and shown["toolbar"]
    assert shown["panel"] == 200
    assert shown["reruns"] and set(shown["reruns"]) == {200}, shown["reruns"]
    assert "tenant:p-dev:replica" in shown["sql"]  # the project list, read on the replica
    assert "tenant:p-dev<" in shown["sql"] or "tenant:p-dev " in shown["sql"]  # the session, on the primary
    # The log line of the development query counter, per alias.
    assert "GET /api/projects/ -> 200:" in result.stderr
    assert "tenant:p-dev:replica=" in result.stderr
