"""System checks of the tenants app's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from core.plans import plan_problems
from tenants.models import Plan
from tenants.validation import normalize_origin, origin_problem


def platform_cors_origins(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a PLATFORM_CORS_ALLOWED_ORIGINS entry that no browser would ever send."""
    errors: list[checks.CheckMessage] = []
    for origin in settings.PLATFORM_CORS_ALLOWED_ORIGINS:
        problem = origin_problem(origin) or (
            None if normalize_origin(origin) == origin else f"write it as {normalize_origin(origin)!r}")
        if problem:
            errors.append(checks.Error(f"PLATFORM_CORS_ALLOWED_ORIGINS: {origin!r}: {problem}",
                                       hint="Write origins as browsers send them: https://app.example.com",
                                       id="tenants.E001"))
    return errors


def tenant_plans(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a TENANT_PLANS that misses a plan, names an unknown one or has a malformed limit."""
    return [checks.Error(f"TENANT_PLANS: {problem}", id="tenants.E002",
                         hint="Every plan of tenants.models.Plan needs every limit of core.plans.PlanLimits.")
            for problem in plan_problems(settings.TENANT_PLANS, list(Plan.values))]


def register() -> None:
    checks.register(platform_cors_origins, checks.Tags.security)
    checks.register(tenant_plans)
