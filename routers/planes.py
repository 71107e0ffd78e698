"""Which plane each app's models live in, read from `settings.DATABASE_PLANES`.

* control: the control plane database only (`default`);
* tenant: tenant databases only;
* both: the control database for platform users and every tenant database for
  that tenant's users (auth, contenttypes, sessions, authtoken, admin).
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Plane(enum.StrEnum):
    CONTROL = "control"
    TENANT = "tenant"
    BOTH = "both"


# (settings object the map was built from, the map): rebuilt only when the
# setting is replaced (override_settings), so a lookup is one identity check.
_cache: tuple[object, dict[str, Plane]] = (None, {})
_primary_cache: tuple[object, frozenset[str]] = (None, frozenset())


def _build(planes: dict[str, list[str]]) -> dict[str, Plane]:
    mapping: dict[str, Plane] = {}
    for plane_name, labels in planes.items():
        plane = Plane(plane_name)
        for label in labels:
            if label in mapping:
                raise ImproperlyConfigured(f"DATABASE_PLANES lists app {label!r} twice")
            mapping[label] = plane
    return mapping


def plane_map() -> dict[str, Plane]:
    """Return app label -> plane for every labelled app."""
    global _cache
    planes = settings.DATABASE_PLANES
    if _cache[0] is not planes:
        _cache = (planes, _build(planes))
    return _cache[1]


def plane_of(app_label: str) -> Plane | None:
    return plane_map().get(app_label)


def primary_read_apps() -> frozenset[str]:
    global _primary_cache
    apps = settings.DATABASE_PRIMARY_READ_APPS
    if _primary_cache[0] is not apps:
        _primary_cache = (apps, frozenset(apps))
    return _primary_cache[1]
