"""Production settings: secrets and hosts must come from the environment."""

from .base import *  # noqa: F403
from .base import LOGGING, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# HTTPS settings (SSL redirect, HSTS, secure cookies, proxy header) keep base.py's
# production values; `manage.py check --deploy` passes with no warning.
# Any client can send a header: resolve tenants from host names only unless asked.
TENANT_HEADER_ENABLED = env.bool("TENANT_HEADER_ENABLED", default=False)
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="json")
