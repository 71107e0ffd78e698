"""TENANT_PLANS: the one definition of the plans, refused at start-up when malformed."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from core.plans import plan_limits, plan_problems, rate_per_second
from tenants.checks import tenant_plans

pytestmark = pytest.mark.unit
NAMES = ["free", "pro", "enterprise"]


def test_the_default_plans_are_valid_and_grow_with_the_plan() -> None:
    assert plan_problems(settings.TENANT_PLANS, NAMES) == []
    assert tenant_plans() == []
    free, pro, enterprise = (plan_limits(name) for name in NAMES)
    assert free.connections < pro.connections < enterprise.connections
    assert rate_per_second(free.api_rate) < rate_per_second(pro.api_rate) <= rate_per_second(enterprise.api_rate)
    assert enterprise.max_projects is None  # unlimited
    assert plan_limits("") == free  # a spec without a plan gets the default plan


def test_rates_are_compared_per_second() -> None:
    assert rate_per_second("600/min") == rate_per_second("10/s") == 10
    assert rate_per_second("3600/hour") == 1


@pytest.mark.parametrize(("change", "problem"), [
    ({"connections": 0}, "'connections' must be a positive integer"),
    ({"statement_timeout_ms": "5s"}, "'statement_timeout_ms' must be a positive integer"),
    ({"api_rate": "fast"}, "'api_rate' must be a rate"),
    ({"max_users": -1}, "'max_users' must be a positive integer or null"),
    ({"burst": 3}, "unknown limit 'burst'"),
])
def test_a_malformed_limit_is_named(change: dict[str, Any], problem: str) -> None:
    plans = {**settings.TENANT_PLANS, "pro": {**settings.TENANT_PLANS["pro"], **change}}
    assert any(problem in found and "'pro'" in found for found in plan_problems(plans, NAMES))


def test_the_system_check_refuses_a_missing_or_unknown_plan() -> None:
    plans = {name: limits for name, limits in settings.TENANT_PLANS.items() if name != "pro"}
    with override_settings(TENANT_PLANS={**plans, "gold": settings.TENANT_PLANS["pro"]}):
        errors = tenant_plans()
    messages = [error.msg for error in errors]
    assert {error.id for error in errors} == {"tenants.E002"}
    assert "TENANT_PLANS: plan 'pro' is not defined" in messages
    assert "TENANT_PLANS: plan 'gold' is not a plan of tenants.models.Plan" in messages
    missing_key = {**settings.TENANT_PLANS, "free": {"connections": 2}}
    assert any("missing 'api_rate'" in p for p in plan_problems(missing_key, NAMES))
    assert plan_problems([], NAMES) == ["TENANT_PLANS must be a dict of plan name -> limits"]
