"""Direct PostgreSQL connections: one helper, with the server's options and a timeout."""

from __future__ import annotations

import dataclasses
import re

import pytest

from core.dbservers import configured_servers
from core.pgconnect import connect_alias
from tests.conftest import ROOT

# Files allowed to call psycopg2.connect themselves. routers/probes.py keeps its
# own until the routing runtime rework (long-tail issue) moves it onto the helper.
HAND_BUILT_ALLOWED = {"core/pgconnect.py", "routers/probes.py"}
PACKAGES = ("core", "routers", "tenants", "migrations_tooling", "projects")


def _settings(conn: object) -> tuple[str, str]:
    with conn.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('application_name')")
        return cursor.fetchone()  # type: ignore[no-any-return]


def test_a_server_connection_carries_the_servers_options_and_its_name() -> None:
    server = dataclasses.replace(configured_servers()["a"], options=(("options", "-c statement_timeout=4321"),))
    conn = server.connect("postgres", application_name="tessera-test-helper")
    try:
        assert conn.autocommit
        assert _settings(conn) == ("4321ms", "tessera-test-helper")
    finally:
        conn.close()


def test_an_alias_connection_carries_the_aliases_options() -> None:
    conn = connect_alias("default", application_name="tessera-test-alias")
    try:
        assert _settings(conn) == ("30s", "tessera-test-alias")
    finally:
        conn.close()


@pytest.mark.unit
def test_no_module_opens_a_hand_built_connection() -> None:
    offenders = sorted(
        str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
        if re.search(r"psycopg2\.connect\(", path.read_text())
        and str(path.relative_to(ROOT)) not in HAND_BUILT_ALLOWED
    )
    assert offenders == []
