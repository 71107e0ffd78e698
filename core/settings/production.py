"""Production settings: secrets and hosts must come from the environment."""

from .base import *  # noqa: F403
from .base import LOGGING, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Any client can send a header: resolve tenants from host names only unless asked.
TENANT_HEADER_ENABLED = env.bool("TENANT_HEADER_ENABLED", default=False)
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="json")
