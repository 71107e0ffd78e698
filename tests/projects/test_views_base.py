"""Every view of the tenant API carries the product's throttles; no platform view does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from projects.api.base import ProductView
from projects.api.throttles import PRODUCT_THROTTLES

pytestmark = pytest.mark.unit


def _views(patterns: list[URLPattern | URLResolver]) -> Iterator[Any]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns)
        else:
            yield getattr(entry.callback, "cls", None) or entry.callback


def test_every_tenant_view_is_a_product_view_with_the_product_throttles() -> None:
    views = list(_views(get_resolver(settings.TENANT_URLCONF).url_patterns))
    assert views and all(issubclass(view, ProductView) for view in views), views
    assert all(view.throttle_classes == PRODUCT_THROTTLES for view in views)


def test_no_platform_view_draws_on_the_product_throttles() -> None:
    views = [view for view in _views(get_resolver(settings.ROOT_URLCONF).url_patterns) if isinstance(view, type)]
    assert views and not any(set(getattr(view, "throttle_classes", [])) & set(PRODUCT_THROTTLES) for view in views)


def test_the_core_defaults_name_no_product_code() -> None:
    assert not any(str(value).startswith("projects.") for value in settings.REST_FRAMEWORK.values())
