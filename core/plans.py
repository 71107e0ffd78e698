"""Per-plan limits: what a tenant on each plan may use (`settings.TENANT_PLANS`).

The plans are defined once, in the `TENANT_PLANS` setting (a dict per plan,
overridable as JSON from the environment), and read here by every package:
`tenants` applies the database and pooler limits, `projects` the API rate and
the quotas (through the plan name in the tenant's `TenantSpec`). It lives in
`core` because both read it and neither may import the other. Start-up
refuses a malformed plan (`tenants.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings

DEFAULT_PLAN = "free"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # DRF's rate units (first letter)


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """The limits of one plan; a quota of None is unlimited."""

    connections: int  # PostgreSQL server connections to the tenant's database through a pooler
    statement_timeout_ms: int  # `ALTER DATABASE ... SET statement_timeout`
    api_rate: str  # DRF rate of the tenant-wide bucket, e.g. "600/min"
    user_rate: str  # DRF rate of each tenant user's bucket
    max_users: int | None
    max_projects: int | None
    max_export_rows: int | None  # tasks in one export


LIMIT_NAMES = tuple(f.name for f in fields(PlanLimits))
QUOTAS = ("max_users", "max_projects", "max_export_rows")


def plan_limits(plan: str) -> PlanLimits:
    """Return the limits of `plan` (the default plan's for an empty name)."""
    return PlanLimits(**settings.TENANT_PLANS[plan or DEFAULT_PLAN])


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, seconds) of a rate like `20/min` (`s`, `m`, `h`, `d` or longer words)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()[:1]]


def rate_per_second(rate: str) -> float:
    """Return a DRF rate ("600/min") as requests per second."""
    count, seconds = parse_rate(rate)
    return count / seconds


def plan_problems(plans: Any, names: list[str]) -> list[str]:
    """Return what is wrong with a `TENANT_PLANS` value that must define every plan in `names`."""
    if not isinstance(plans, dict):
        return ["TENANT_PLANS must be a dict of plan name -> limits"]
    problems = [f"plan {name!r} is not defined" for name in names if name not in plans]
    problems += [f"plan {name!r} is not a plan of tenants.models.Plan" for name in plans if name not in names]
    for name, limits in plans.items():
        problems += [f"plan {name!r}: {problem}" for problem in _limits_problems(limits)]
    return problems


def _limits_problems(limits: Any) -> list[str]:
    if not isinstance(limits, dict):
        return ["must be a dict of limits"]
    problems = [f"missing {key!r}" for key in LIMIT_NAMES if key not in limits]
    problems += [f"unknown limit {key!r}" for key in limits if key not in LIMIT_NAMES]
    for key in ("connections", "statement_timeout_ms"):
        if key in limits and not _positive(limits[key]):
            problems.append(f"{key!r} must be a positive integer")
    for key in QUOTAS:
        if key in limits and limits[key] is not None and not _positive(limits[key]):
            problems.append(f"{key!r} must be a positive integer or null")
    for key in ("api_rate", "user_rate"):
        if key in limits and not _rate_ok(limits[key]):
            problems.append(f"{key!r} must be a rate like '600/min'")
    return problems


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _rate_ok(value: Any) -> bool:
    try:
        return isinstance(value, str) and rate_per_second(value) > 0
    except (ValueError, KeyError, IndexError):
        return False
