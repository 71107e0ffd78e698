"""Settings for `make run` on a developer machine (services from infra.local)."""

from .base import *  # noqa: F403
from .base import PLAIN_HTTP, env

globals().update(PLAIN_HTTP)  # served over plain http on loopback

# DEBUG stays off by default even locally: the API answers JSON errors only.
DEBUG = env.bool("DEBUG", default=False)
