"""Parsing and validation of TENANT_DB_SERVERS."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.dbservers import Endpoint, parse_servers

pytestmark = pytest.mark.unit


def test_parses_servers_with_replicas_and_poolers() -> None:
    servers = parse_servers(
        "a=postgres://u:p%40ss@10.0.0.1:5432?sslmode=require,replicas=10.0.0.2:5432|10.0.0.3:5432,"
        "pooler=10.0.0.1:6432,replica_poolers=10.0.0.2:6432|10.0.0.3:6432;b=postgres://u:p@db-b:5433"
    )
    a, b = servers["a"], servers["b"]
    assert a.password == "p@ss"
    assert a.replicas == (Endpoint("10.0.0.2", 5432), Endpoint("10.0.0.3", 5432))
    assert a.pooler == Endpoint("10.0.0.1", 6432)
    assert a.options == (("sslmode", "require"),)
    assert b.primary == Endpoint("db-b", 5433) and b.replicas == () and b.pooler is None


@pytest.mark.parametrize("spec", [
    "",
    "A=postgres://u:p@h:1",
    "a=mysql://u:p@h:1",
    "a=postgres://u:p@h:1,bogus=1",
    "a=postgres://u:p@h:1,replicas=h:2,replica_poolers=h:3|h:4",
    "a=postgres://u:p@h:1;a=postgres://u:p@h:2",
    "a=postgres://u:p@h:1,replicas=nohostport",
])
def test_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_servers(spec)
