"""The retention policy: which backups a plan lets go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from tenants.retention import Retention, expired, parse_retention

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 31, tzinfo=UTC)
PLANS = ["free", "pro"]


def test_the_policy_is_parsed_per_plan() -> None:
    assert parse_retention("free=7:3, pro=30:14", PLANS) == {"free": Retention(7, 3), "pro": Retention(30, 14)}


@pytest.mark.parametrize("text", ["free=7:3", "free=7,pro=30:14", "free=7:3,pro=x:1", "gold=1:1,free=1:1,pro=1:1"])
def test_a_bad_or_incomplete_policy_is_refused(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="BACKUP_RETENTION"):
        parse_retention(text, PLANS)


def test_backups_older_than_the_days_or_beyond_the_count_go() -> None:
    backups = [(day, NOW - timedelta(days=day)) for day in range(10)]  # id = age in days
    assert expired(backups, Retention(days=5, count=3), NOW) == [3, 4, 5, 6, 7, 8, 9]
    assert expired(backups, Retention(days=5, count=10), NOW) == [5, 6, 7, 8, 9]


def test_the_newest_backup_is_kept_whatever_its_age() -> None:
    old = [(1, NOW - timedelta(days=400)), (2, NOW - timedelta(days=500))]
    assert expired(old, Retention(days=7, count=0), NOW) == [2]


def test_a_deleted_tenants_backups_all_go_by_age() -> None:
    old = [(1, NOW - timedelta(days=400)), (2, NOW - timedelta(days=1))]
    assert expired(old, Retention(days=7, count=5), NOW, keep_newest=False) == [1]
    assert expired([(1, NOW - timedelta(days=8))], Retention(days=7, count=5), NOW, keep_newest=False) == [1]
