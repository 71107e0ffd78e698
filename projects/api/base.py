"""What every view of the tenant API shares that the platform API must not: the product's rate limits.

`tests/projects/test_views_base.py` checks that every view of the tenant URLconf has this base.
"""

from __future__ import annotations

from typing import Any

from projects.api.throttles import PRODUCT_THROTTLES


class ProductView:
    """Mixin (before the DRF view class) for the tenant API's views."""

    throttle_classes: Any = PRODUCT_THROTTLES
