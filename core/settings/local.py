"""Settings for `make run` on a developer machine (services from infra.local).

Development tooling lives here only: the debug toolbar (the `dev` extra), the
DRF browsable API with session sign-in, and per-request query counts in the
log. Production and test settings never load any of it (tests/core/test_devtools.py).
"""

from .base import *  # noqa: F403
from .base import CACHES, DEBUG_TOOLBAR, INSTALLED_APPS, LOGGING, MIDDLEWARE, PLAIN_HTTP, REST_FRAMEWORK, env

globals().update(PLAIN_HTTP)  # served over plain http on loopback

# DEBUG stays off by default even locally: the API answers JSON errors only.
DEBUG = env.bool("DEBUG", default=False)

ROOT_URLCONF = "core.urls_local"
TENANT_URLCONF = "core.urls_local_tenant"
INTERNAL_IPS = ["127.0.0.1", "::1"]
_AFTER_TENANT = MIDDLEWARE.index("tenants.middleware.TenantMiddleware") + 1
# Inside the tenant context: the toolbar's panels and the query counts see tenant aliases.
_DEV_MIDDLEWARE = ["core.devtools.QueryCountMiddleware"]
if DEBUG_TOOLBAR:
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
    _DEV_MIDDLEWARE += ["tenants.devtools.ToolbarQueryTenantMiddleware",
                        "debug_toolbar.middleware.DebugToolbarMiddleware"]
    # gunicorn runs several processes: keep the toolbar's data in Redis, shared by all of
    # them, under plain keys (not the tenant-scoped key function of the default cache).
    CACHES = {**CACHES, "debug_toolbar": {
        **{key: value for key, value in CACHES["default"].items() if key != "KEY_FUNCTION"},
        "KEY_PREFIX": "djdt", "TIMEOUT": 3600}}
    DEBUG_TOOLBAR_CONFIG = {
        "SHOW_TOOLBAR_CALLBACK": "core.devtools.show_toolbar",
        "TOOLBAR_STORE_CLASS": "debug_toolbar.store.CacheStore",
        "CACHE_BACKEND": "debug_toolbar",
    }
MIDDLEWARE = [*MIDDLEWARE[:_AFTER_TENANT], *_DEV_MIDDLEWARE, *MIDDLEWARE[_AFTER_TENANT:]]

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # The browsable API, signed in with a session (/api/auth/browser/login/) besides tokens.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
}
LOGGING["loggers"]["tessera.queries"] = {"level": "INFO"}
