"""Settings shared by every environment.

Every value that varies between deployments is read from the environment with
django-environ and has a documented default (docs/configuration.md). The
environment-specific modules (local, test, production) only override.
"""

from __future__ import annotations

from typing import Any

# One module a concern; this one keeps what every environment shares and the rest.
from .backups import *  # noqa: F403
from .backups import BACKUP_SCHEDULE_SECONDS
from .environment import BASE_DIR, env
from .metrics import *  # noqa: F403
from .moves import *  # noqa: F403
from .plans import *  # noqa: F403

SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
# django-debug-toolbar in core.settings.local (the `dev` extra); production and test never load it.
DEBUG_TOOLBAR = env.bool("DEBUG_TOOLBAR", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1", "testserver", ".test"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Not django.contrib.postgres: its app only adds lookups Tessera does not use (unaccent,
    # trigram, `__search`) and hstore/citext type handlers, which cost two catalogue queries per new
    # connection once a process has seen more than 128 aliases (Django caches the OIDs per alias,
    # LRU of 128). ArrayField, GinIndex and full-text search work without it.
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served locally: /api/docs/ works offline
    "core",
    "routers",
    "tenants",
    "migrations_tooling",
    "projects",
]

MIDDLEWARE = [
    # First: a plain-http request is redirected before any tenant is resolved.
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.metrics_middleware.MetricsMiddleware",  # counts every answer, errors included
    "core.middleware.JsonErrorMiddleware",
    "tenants.middleware.TenantMiddleware",
    # Inside the tenant: counts the request (and who made it) after the view ran (tenants.usage).
    "tenants.usage.UsageMiddleware",
    # After the tenant is resolved: its origins come with it (tenants.cors).
    "corsheaders.middleware.CorsMiddleware",
    "routers.middleware.ReadYourWritesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# --- HTTPS (docs/deployment.md) ---------------------------------------------------
# Production values by default. Settings that serve plain http on loopback (local,
# test, benchmarks) apply PLAIN_HTTP on top.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe health over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# `HEADER,value` set by the TLS-terminating proxy; empty: no proxy is trusted.
_PROXY_SSL_HEADER = env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
SECURE_PROXY_SSL_HEADER = tuple(_PROXY_SSL_HEADER) if _PROXY_SSL_HEADER else None
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script reads it: the API takes tokens, the admin posts forms
X_FRAME_OPTIONS = "DENY"
PLAIN_HTTP = {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0,
              "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False}

# One URLconf per plane: ROOT_URLCONF is the platform's, TENANT_URLCONF the tenant API's
# (the tenant middleware sets it as request.urlconf; core.urlconfs tells the planes apart).
ROOT_URLCONF = "core.urls"
TENANT_URLCONF = "core.urls_tenant"
WSGI_APPLICATION = "core.wsgi.application"
ASGI_APPLICATION = "core.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases ----------------------------------------------------------------
# `default` is the control plane primary; `default_replica` its streaming replica.
# Tenant databases are not listed here: routers.registry adds them at runtime.
_CONTROL_URL = "postgres://tessera:tessera@127.0.0.1:54320/tessera_control"
_CONTROL_REPLICA_URL = "postgres://tessera:tessera@127.0.0.1:54321/tessera_control"
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=_CONTROL_URL),
    "default_replica": env.db_url("DATABASE_REPLICA_URL", default=_CONTROL_REPLICA_URL),
}
for _alias in DATABASES.values():
    _alias["ENGINE"] = "core.db.backends.postgresql"  # Django's, with cheaper health checks
DATABASES["default_replica"]["TEST"] = {"MIRROR": None}

# Servers that hold tenant databases: `name=URL[,replicas=H:P|H:P][,pooler=H:P]
# [,replica_poolers=H:P|H:P]` separated by `;`. See docs/configuration.md.
TENANT_DB_SERVERS = env.str(
    "TENANT_DB_SERVERS",
    default=(
        "a=postgres://tessera:tessera@127.0.0.1:54320,replicas=127.0.0.1:54321,"
        "pooler=127.0.0.1:54325,replica_poolers=127.0.0.1:54326;"
        "b=postgres://tessera:tessera@127.0.0.1:54330,pooler=127.0.0.1:54335"
    ),
)
TENANT_DB_NAME_PREFIX = env.str("TENANT_DB_NAME_PREFIX", default="t_")
TENANT_TEMPLATE_DB = env.str("TENANT_TEMPLATE_DB", default="tessera_template")
TENANT_BASE_DOMAIN = env.str("TENANT_BASE_DOMAIN", default="localhost")
TENANT_HEADER_ENABLED = env.bool("TENANT_HEADER_ENABLED", default=True)
TENANT_CONNECTIONS_MAX = env.int("TENANT_CONNECTIONS_MAX", default=32)
# Client connections to a PgBouncer kept per process (cheap for the pooler; a new one costs a login):
# room for a hot set of 1,000 tenants, primary and replica (docs/deployment.md, "Sizing").
TENANT_CLIENT_CONNECTIONS_MAX = env.int("TENANT_CLIENT_CONNECTIONS_MAX", default=2_200)
TENANT_CONNECTION_WAIT_SECONDS = env.float("TENANT_CONNECTION_WAIT_SECONDS", default=5.0)
# Per-server cap on PostgreSQL server connections, enforced by each server's PgBouncer
# (`max_user_connections`, rendered by infra/local and `manage.py pgbouncer_config --ini`).
TENANT_SERVER_CONNECTIONS_MAX = env.int("TENANT_SERVER_CONNECTIONS_MAX", default=1_000)
# Tenants a process keeps registered (their aliases and connections). Django's per-request walk
# over aliases sees only the connections a thread holds (core/db/lifecycle.py), so this bounds
# memory, not request time: it follows the client budget (two aliases a tenant), with room.
TENANT_REGISTRY_MAX = env.int("TENANT_REGISTRY_MAX", default=1_200)
# Pooled tenant connections go back to a per-process pool at each request's end, for any thread.
TENANT_SHARE_CONNECTIONS = env.bool("TENANT_SHARE_CONNECTIONS", default=True)
# A shared connection idle past DB_HEALTH_CHECK_IDLE_SECONDS is handed out if its socket is quiet;
# idle past this too, only if it also answers a ping (routers/pool.py).
TENANT_POOL_PING_SECONDS = env.float("TENANT_POOL_PING_SECONDS", default=60.0)
# Benchmarks of single-database stacks only: the alias tenant_atomic() and current_alias() name.
TENANT_SINGLE_DATABASE_ALIAS = env.str("TENANT_SINGLE_DATABASE_ALIAS", default="")
TENANT_USE_PGBOUNCER = env.bool("TENANT_USE_PGBOUNCER", default=True)
TENANT_CACHE_TTL_SECONDS = env.int("TENANT_CACHE_TTL_SECONDS", default=300)
TENANT_CACHE_CHECK_SECONDS = env.float("TENANT_CACHE_CHECK_SECONDS", default=1.0)
TENANT_NEGATIVE_CACHE_SECONDS = env.float("TENANT_NEGATIVE_CACHE_SECONDS", default=5.0)
TENANT_HOST_CACHE_MAX = env.int("TENANT_HOST_CACHE_MAX", default=10_000)  # host -> slug answers per process
TENANT_RETRY_AFTER_SECONDS = env.int("TENANT_RETRY_AFTER_SECONDS", default=2)

# Provisioning state machine (tenants/provisioning.py). "clone" copies the
# per-server template database; "migrate" replays every migration (slow fallback).
# slug -> TenantSpec of a tenant that may run work (routers.tasks.TenantTask).
TENANT_SPEC_RESOLVER = "tenants.resolution.active_spec"
TENANT_PROVISIONING_STRATEGY = env.str("TENANT_PROVISIONING_STRATEGY", default="clone")
PROVISIONING_STALL_SECONDS = env.int("PROVISIONING_STALL_SECONDS", default=60)
PROVISIONING_MAX_ATTEMPTS = env.int("PROVISIONING_MAX_ATTEMPTS", default=3)
# Fault-injection for chaos tests and drills: pause after each step. Keep 0.
PROVISIONING_STEP_PAUSE_SECONDS = env.float("PROVISIONING_STEP_PAUSE_SECONDS", default=0.0)
# Fleet migrations (migrations_tooling): per-database lock and statement limits.
MIGRATE_LOCK_TIMEOUT_MS = env.int("MIGRATE_LOCK_TIMEOUT_MS", default=5_000)
MIGRATE_STATEMENT_TIMEOUT_MS = env.int("MIGRATE_STATEMENT_TIMEOUT_MS", default=600_000)
MIGRATE_LOCK_RETRIES = env.int("MIGRATE_LOCK_RETRIES", default=3)
MIGRATE_PARALLEL = env.int("MIGRATE_PARALLEL", default=4)
# Per-alias-class pooling policy (see routers/policy.py and docs/routing.md).
DB_CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
DB_HEALTH_CHECK_IDLE_SECONDS = env.float("DB_HEALTH_CHECK_IDLE_SECONDS", default=1.0)
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=3)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=60_000)

REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=10.0)
REPLICA_LSN_CACHE_SECONDS = env.float("REPLICA_LSN_CACHE_SECONDS", default=0.05)
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=2.0)  # /readyz result reuse
READ_AFTER_COOKIE = "tessera_read_after"
READ_AFTER_HEADER = "X-Tessera-Read-After"

DATABASE_ROUTERS = ["routers.routers.TenantRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:54379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "TIMEOUT": env.int("CACHE_TIMEOUT", default=300),
        "KEY_FUNCTION": "routers.cache.make_key",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
            "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            # The API keeps serving when Redis is down: cache errors are misses.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:54379/1")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
# Keep Django's LOGGING in workers: Celery would otherwise replace the root
# handlers and drop the request id and tenant from every line.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="tessera")
# Exports: queued or running without progress for EXPORT_STALL_SECONDS -> queued again, at most
# EXPORT_MAX_ATTEMPTS times, then failed; the watchdog visits every active tenant each EXPORT_WATCHDOG_SECONDS.
EXPORT_STALL_SECONDS = env.int("EXPORT_STALL_SECONDS", default=120)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
EXPORT_WATCHDOG_SECONDS = env.float("EXPORT_WATCHDOG_SECONDS", default=60.0)
# Usage metering (tenants.usage, docs/observability.md): counted in Redis per request, flushed by beat.
USAGE_METERING_ENABLED = env.bool("USAGE_METERING_ENABLED", default=True)
USAGE_REDIS_URL = env.str("USAGE_REDIS_URL", default="")  # empty: REDIS_URL
USAGE_REDIS_TIMEOUT_SECONDS = env.float("USAGE_REDIS_TIMEOUT_SECONDS", default=0.25)
USAGE_REDIS_RETRY_SECONDS = env.float("USAGE_REDIS_RETRY_SECONDS", default=5.0)  # pause after a Redis failure
# Counts wait in the process this long, then go to Redis together (0: each request sends its own).
USAGE_BUFFER_SECONDS = env.float("USAGE_BUFFER_SECONDS", default=1.0)
# Tenant-days a process keeps unsent (Redis down) before it drops new counts (counted as dropped).
USAGE_BUFFER_MAX_KEYS = env.int("USAGE_BUFFER_MAX_KEYS", default=100_000)
USAGE_KEY_TTL_SECONDS = env.int("USAGE_KEY_TTL_SECONDS", default=3 * 86400)  # unflushed counts expire after
USAGE_FLUSH_SECONDS = env.float("USAGE_FLUSH_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "usage-flush": {"task": "tenants.usage_flush", "schedule": USAGE_FLUSH_SECONDS},
    "provisioning-watchdog": {"task": "tenants.provisioning_watchdog", "schedule": 15.0},
    "retired-databases-sweep": {"task": "tenants.retired_databases_sweep", "schedule": 3600.0},
    "backups-schedule": {"task": "tenants.backups_schedule", "schedule": BACKUP_SCHEDULE_SECONDS},
    "backups-sweep": {"task": "tenants.backups_sweep", "schedule": 3600.0},
    "data-jobs-watchdog": {"task": "tenants.data_jobs_watchdog", "schedule": 60.0},
    "export-watchdog": {"task": "tenants.tenant_fanout", "schedule": EXPORT_WATCHDOG_SECONDS,
                        "args": ["projects.export_watchdog"]},
}

# --- Auth, i18n, static --------------------------------------------------------
# Argon2id first (core/hashers.py: parameters sized for small hosts); PBKDF2 hashes
# still verify and are rewritten as Argon2 on the next successful sign-in.
PASSWORD_HASHERS = [
    "core.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Every password check goes through the sign-in budgets and slots (core/signin.py).
AUTHENTICATION_BACKENDS = ["core.signin.GuardedModelBackend"]
SIGNIN_IP_RATE = env.str("SIGNIN_IP_RATE", default="30/min")  # attempts per client IP
SIGNIN_ACCOUNT_RATE = env.str("SIGNIN_ACCOUNT_RATE", default="10/min")  # failures per account
SIGNIN_CONCURRENCY = env.int("SIGNIN_CONCURRENCY", default=1)  # password checks at once per process
# Proxies in front of the app that append to X-Forwarded-For (0: trust the socket peer only).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "core.tokens.RevokeTokensOnPasswordChange"},  # a new password revokes the user's API tokens
]
# API tokens (platform and tenant) are refused once older than this; signing in issues a fresh one.
TOKEN_TTL_SECONDS = env.int("TOKEN_TTL_SECONDS", default=7 * 24 * 3600)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / ".local" / "static"))
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / ".local" / "media"))

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.tokens.ExpiringTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],  # 400 for absurdly nested JSON
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Plane-neutral defaults: the tenant API's views add the product's throttles themselves
    # (projects.api.base.ProductView), so the platform API runs no product code.
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
}
# Per-tenant rate limits (DRF throttles on the Redis cache; keys are tenant-scoped).
TENANT_THROTTLE_RATES = {
    "tenant": env.str("TENANT_RATE_LIMIT", default="6000/min"),
    "tenant_user": env.str("TENANT_USER_RATE_LIMIT", default="1200/min"),
    "tenant_anon": env.str("TENANT_ANON_RATE_LIMIT", default="600/min"),  # per client IP
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Database-per-tenant SaaS backend: platform and tenant APIs.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # X-Tenant as a security scheme (Swagger UI "Authorize") and the {"code","detail"} errors.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "projects.api.schema.tenant_contract"],
    "ENUM_NAME_OVERRIDES": {"TaskStatusEnum": "projects.models.TaskStatus",
                            "TenantStatusEnum": "tenants.models.TenantStatus",
                            "JobStatusEnum": "tenants.models.JobStatus"},
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- CORS (docs/tenants.md, "Browser front ends") ---------------------------------
# /api/ responses vary on Origin; tenants.cors.origin_allowed decides, per request,
# from the tenant's own origins or PLATFORM_CORS_ALLOWED_ORIGINS (never a global list).
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False  # tokens travel in Authorization, never in cookies
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-requested-with", "x-tenant", "x-request-id",
                      READ_AFTER_HEADER.lower()]
CORS_EXPOSE_HEADERS = ["X-Request-ID", READ_AFTER_HEADER, "Retry-After"]
PLATFORM_CORS_ALLOWED_ORIGINS = env.list("PLATFORM_CORS_ALLOWED_ORIGINS", default=[])

# --- Logging -------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "text" or "json"
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {
        "text": {"()": "core.logging.TextFormatter"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

# --- Planes: where each app's tables live (read by routers.routers) -------------
DATABASE_PLANES = {
    "control": ["tenants", "migrations_tooling"],
    "tenant": ["projects"],
    "both": ["auth", "contenttypes", "sessions", "authtoken", "admin"],
}
# Reads of these apps always go to a primary: a user or token created a moment ago must
# authenticate the very next request, whichever replica would serve it.
DATABASE_PRIMARY_READ_APPS = ["auth", "authtoken", "sessions"]
